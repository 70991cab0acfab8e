"""Users: logins, roles and agents' phones."""
from callcenter.users.exceptions import (  # noqa: F401
    InvalidContact, InvalidMobile, InvalidName, InvalidPhoneMode, InvalidRole,
    UserError, UserExists, UserNotFound, WeakPassword,
)
from callcenter.users.service import (  # noqa: F401
    create_user, disable_user, get_user_by_id, get_user_by_name, list_users,
    normalise_mobile, sip_endpoint_for, sip_md5_cred, validate_contact, validate_name,
)
