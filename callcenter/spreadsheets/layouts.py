"""The columns of each upload kind, and the headers people write for them.

A header is normalised ('Mobile No.' -> 'mobile_no') and looked up among the
aliases of the kind's columns; a header no column claims is kept as it is
(normalised), e.g. 'Loyalty Tier' -> 'loyalty_tier'. A header among the
kind's ``ignored`` ones (the "Row" and "Reason" columns of a customer
upload's rejects file, uploaded again once fixed) is read as no column."""
from __future__ import annotations

import re
from dataclasses import dataclass, field


def normalise_header(text: str) -> str:
    """'Mobile No.' -> 'mobile_no'; 'E-mail' -> 'e_mail'; 'D.O.B' -> 'd_o_b'."""
    return re.sub(r"[^0-9a-z]+", "_", str(text).strip().lower()).strip("_")


@dataclass(frozen=True)
class Layout:
    """The columns of one upload kind: name -> the headers accepted for it."""
    kind: str
    aliases: dict[str, tuple[str, ...]]
    required: tuple[str, ...]
    ignored: tuple[str, ...] = ()
    lookup: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        lookup = {}
        for name, names in self.aliases.items():
            for alias in (name, *names):
                lookup[normalise_header(alias)] = name
        object.__setattr__(self, "lookup", lookup)

    def column_of(self, header: str) -> str:
        """The column a header means; "" for an ignored header."""
        key = normalise_header(header)
        return "" if key in self.ignored else self.lookup.get(key, key)


_MOBILE = ("mobile_no", "mobile_number", "mobileno", "mobile_num", "mob", "mob_no", "phone",
           "phone_no", "phone_number", "contact", "contact_no", "contact_number", "cell",
           "cell_no", "msisdn", "customer_mobile", "customer_mobile_no", "number")
_STORE = ("store", "store_id", "storecode", "store_no", "branch_code", "showroom_code")

CUSTOMERS = Layout("customers", {
    "mobile": _MOBILE,
    "name": ("customer_name", "cust_name", "full_name", "customer"),
    "store_code": _STORE,
    "language": ("lang", "preferred_language"),
    "birthday": ("dob", "d_o_b", "birth_date", "date_of_birth", "birthdate", "bday"),
    "anniversary": ("anniversary_date", "doa", "d_o_a", "date_of_anniversary",
                    "wedding_anniversary", "marriage_anniversary"),
    "city": ("town",),
    "email": ("email_id", "e_mail", "mail", "email_address"),
    "alternate_mobile": ("alternate_number", "alt_mobile", "alt_number", "other_mobile",
                         "alternate_phone", "secondary_mobile", "alternate_mobile_no"),
}, required=("mobile", "name"), ignored=("row", "reason"))

HEADCOUNT = Layout("headcount", {
    "employee_id": ("emp_id", "employee_code", "emp_code", "employee_no", "emp_no", "staff_id",
                    "employee_number"),
    "name": ("employee_name", "emp_name", "executive_name", "full_name"),
    "store_code": _STORE,
    "status": ("employment_status", "emp_status", "active"),
    "languages": ("language", "lang", "langs"),
    "mobile": _MOBILE,
    "phone": ("phone_mode", "calling_mode", "phone_type"),  # mobile (the default) or web phone
}, required=("employee_id", "name", "store_code", "status"))

DND = Layout("dnd", {"mobile": _MOBILE}, required=("mobile",))

LAYOUTS = {layout.kind: layout for layout in (CUSTOMERS, HEADCOUNT, DND)}
