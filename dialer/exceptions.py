from callcenter.errors import DomainError


class InvalidNumber(DomainError):
    error_id, status = "invalid_number", 422


class NumberDnd(DomainError):
    """The number is on the do-not-disturb list: never dialled, whoever asks."""
    error_id, status = "number_dnd", 422


class InvalidRequest(DomainError):
    error_id, status = "invalid_request", 422


class AgentNotFound(DomainError):
    error_id, status = "agent_not_found", 404


class AgentHasNoPhone(DomainError):
    error_id, status = "agent_has_no_phone", 422


class AgentBusy(DomainError):
    error_id, status = "agent_busy", 409


class Forbidden(DomainError):
    error_id, status = "forbidden", 403


class NoTrunk(DomainError):
    error_id, status = "no_trunk", 503


class TrunkOnOtherNode(DomainError):
    """The agent's phone lives on one PBX node, the trunk on another (callcenter/pbx/nodes.py)."""
    error_id, status = "trunk_on_other_node", 422


class TrunkFull(DomainError):
    error_id, status = "trunk_full", 503

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after


class PbxUnavailable(DomainError):
    error_id, status = "pbx_unavailable", 503
    retry_after = 5


class CallNotFound(DomainError):
    error_id, status = "call_not_found", 404


class CallEnded(DomainError):
    error_id, status = "call_ended", 409
