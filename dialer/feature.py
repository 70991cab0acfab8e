"""Click-to-call: the calls API (place, follow, hang up, recording)."""
from callcenter.feature import Feature
from dialer import http

FEATURE = Feature(
    name="calls",
    routes=http.ROUTES,
    topics=("call",),
    summary="Two-leg click-to-call: place, follow, hang up, the recording",
)
