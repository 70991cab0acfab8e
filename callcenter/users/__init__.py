"""Users: logins, roles, agents' phones and their place in the organisation."""
from callcenter.users.exceptions import (  # noqa: F401
    CannotDisableSelf, EmployeeIdExists, InvalidAgentKind, InvalidContact, InvalidEmployeeId,
    InvalidLanguages, InvalidMobile, InvalidName, InvalidPhoneMode, InvalidPlacement, InvalidRole,
    NotAllowed, UserError, UserExists, UserNotFound, WeakPassword,
)
from callcenter.users.service import (  # noqa: F401
    create_user, disable_user, get_user_by_id, get_user_by_name, list_users,
    normalise_mobile, set_password, set_password_by_name, sip_endpoint_for, sip_md5_cred,
    validate_contact, validate_name,
)
