"""SIP trunks: definitions (service) and channel accounting (accounting, Redis)."""
from callcenter.trunks.exceptions import (  # noqa: F401
    DidOverlap, InvalidChannels, InvalidDidRange, InvalidHost, InvalidPilot, InvalidPort,
    InvalidTrunkName, TrunkError, TrunkExists, TrunkInUse, TrunkNotFound,
)
from callcenter.trunks.service import (  # noqa: F401
    add_trunk, did_count, did_in_range, get_trunk, list_trunks, parse_did_range,
    pick_caller_id, remove_trunk, validate_host,
)
