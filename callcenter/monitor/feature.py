"""Listen, whisper, barge: a supervisor's phone joined to an agent's call by ChanSpy."""
from callcenter.feature import Feature, Section
from callcenter.monitor import http
from callcenter.monitor.service import Monitoring
from callcenter.monitor.settings import MonitorSettings, check


async def start(settings, sessions, ami, tracker, accounting, live, pbx_events, loops, dialer) -> Monitoring:
    monitoring = Monitoring(settings, sessions, ami, tracker, accounting, live, dialer.phones)
    pbx_events.on_event(monitoring.on_event)
    pbx_events.on_connected(monitoring.check)  # after an AMI drop: orphaned legs hung up, lost sessions ended
    loops.every("monitor", settings.monitor.check_interval, monitoring.check)
    return monitoring


FEATURE = Feature(
    name="monitor",
    routes=http.ROUTES,
    settings=Section("monitor", MonitorSettings, check),
    start=start,
    topics=("monitor",),
    summary="Listen, whisper, barge on a live call from the supervisor's phone",
)
