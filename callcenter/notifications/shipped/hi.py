"""The shipped Hindi texts: (event, channel) -> (subject, body). A Hindi
SMS is UCS-2, 70 characters a segment: the customer's SMS are kept within two
(the tests check them with typical values)."""
from __future__ import annotations

_VISIT = "{store_name}, {store_city}"
_CASE = "{ticket} · {category} · प्राथमिकता {priority}\n{description}\nसमय-सीमा {due}\n{link}"

NAMELESS = "ग्राहक"   # {customer_name} of a customer without a name

TEXTS: dict[tuple[str, str], tuple[str, str]] = {
    # ग्राहक की विज़िट
    ("appointment.booked", "sms"): (
        "", "{customer_name} जी, " + _VISIT + " में आपकी विज़िट {appointment_date} को "
            "{appointment_time} बजे तय है। - {brand}"),
    ("appointment.booked", "email"): (
        "{store_name} में आपकी विज़िट: {appointment_date}",
        "प्रिय {customer_name} जी,\n\n" + _VISIT + " में आपकी विज़िट {appointment_date} को "
        "{appointment_time} बजे तय हो गई है। हमें आपका इंतज़ार रहेगा।\n\n{brand}"),
    ("appointment.changed", "sms"): (
        "", "{customer_name} जी, आपकी विज़िट अब {appointment_date} को {appointment_time} बजे "
            + _VISIT + " में है। - {brand}"),
    ("appointment.changed", "email"): (
        "आपकी विज़िट का नया समय: {appointment_date}",
        "प्रिय {customer_name} जी,\n\nआपकी विज़िट का समय बदल गया है। अब हम {appointment_date} को "
        "{appointment_time} बजे " + _VISIT + " में आपका इंतज़ार करेंगे।\n\n{brand}"),
    ("appointment.cancelled", "sms"): (
        "", "{customer_name} जी, {appointment_date} को {store_name} में आपकी विज़िट रद्द हो गई है। "
            "नई विज़िट के लिए हमें कॉल करें। - {brand}"),
    ("appointment.cancelled", "email"): (
        "{store_name} में आपकी विज़िट रद्द हुई",
        "प्रिय {customer_name} जी,\n\n" + _VISIT + " में {appointment_date} को {appointment_time} "
        "बजे की आपकी विज़िट रद्द कर दी गई है। जब चाहें, हमें कॉल करके नई विज़िट तय करें - "
        "आपका हमेशा स्वागत है।\n\n{brand}"),
    ("appointment.reminder_day_before", "sms"): (
        "", "{customer_name} जी, याद दिला दें: कल {appointment_date} को {appointment_time} बजे "
            + _VISIT + " में आपका इंतज़ार रहेगा। - {brand}"),
    ("appointment.reminder_day_before", "email"): (
        "कल {store_name} में मिलते हैं",
        "प्रिय {customer_name} जी,\n\nयाद दिला दें: कल, {appointment_date} को {appointment_time} बजे "
        + _VISIT + " में आपकी विज़िट है। हमें आपका इंतज़ार रहेगा।\n\n{brand}"),
    ("appointment.reminder_hours_before", "sms"): (
        "", "{customer_name} जी, आज {appointment_time} बजे " + _VISIT + " में आपका इंतज़ार रहेगा। "
            "- {brand}"),

    # ग्राहक की शिकायत
    ("complaint.filed", "sms"): (
        "", "{customer_name} जी, आपकी शिकायत दर्ज हो गई है। टिकट {ticket}। हम इसे {sla_hours} घंटे "
            "में सुलझाने का प्रयास करेंगे। - {brand}"),
    ("complaint.filed", "email"): (
        "आपकी शिकायत {ticket} दर्ज हो गई है",
        "प्रिय {customer_name} जी,\n\nआपकी शिकायत ({category}) टिकट नंबर {ticket} पर दर्ज कर ली गई है। "
        "हम इसे {sla_hours} घंटे में, {due} तक, सुलझाने का प्रयास करेंगे। हमसे संपर्क करते समय "
        "कृपया यह टिकट नंबर बताएँ।\n\n{brand}"),
    ("complaint.resolved", "sms"): (
        "", "{customer_name} जी, आपकी शिकायत {ticket} सुलझा दी गई है। आपके धैर्य के लिए धन्यवाद। "
            "- {brand}"),
    ("complaint.resolved", "email"): (
        "आपकी शिकायत {ticket} सुलझा दी गई है",
        "प्रिय {customer_name} जी,\n\nआपकी शिकायत {ticket} सुलझा दी गई है। आपके धैर्य के लिए "
        "धन्यवाद। अगर अब भी कोई परेशानी हो, तो हमें ज़रूर बताएँ।\n\n{brand}"),

    # संस्था के लोग
    ("followup.due", "log"): (
        "फ़ॉलो-अप का समय: {customer_name}",
        "{customer_name} के साथ आपका फ़ॉलो-अप {followup_date} को {followup_time} बजे है।\n{link}"),
    ("followup.due", "email"): (
        "फ़ॉलो-अप का समय: {customer_name}, {followup_time} बजे",
        "{person_name} जी,\n\n{customer_name} के साथ आपका फ़ॉलो-अप कॉल {followup_date} को "
        "{followup_time} बजे है।\n\nखोलें: {link}"),
    ("followup.missed", "log"): (
        "फ़ॉलो-अप छूट गया: {customer_name} ({agent_name})",
        "{agent_name} का {customer_name} के साथ फ़ॉलो-अप, जो {followup_date} को {followup_time} "
        "बजे था, नहीं हुआ।\n{link}"),
    ("followup.missed", "email"): (
        "फ़ॉलो-अप छूट गया: {customer_name} ({agent_name})",
        "{person_name} जी,\n\n{agent_name} का {customer_name} के साथ फ़ॉलो-अप कॉल, जो "
        "{followup_date} को {followup_time} बजे होना था, अब तक नहीं हुआ है।\n\nखोलें: {link}"),
    ("complaint.assigned", "log"): ("शिकायत {ticket} अब आपकी है", _CASE),
    ("complaint.assigned", "email"): (
        "शिकायत {ticket} अब आपकी है",
        "{person_name} जी,\n\nयह शिकायत अब आपको सुलझानी है:\n" + _CASE),
    ("complaint.escalated", "log"): (
        "शिकायत {ticket} आपको एस्केलेट हुई ({level})",
        "पिछले स्तर पर इसकी SLA की समय-सीमा निकल गई।\n" + _CASE),
    ("complaint.escalated", "email"): (
        "शिकायत {ticket} आपको एस्केलेट हुई ({level})",
        "{person_name} जी,\n\nइस शिकायत की SLA की समय-सीमा निकल गई और अब यह आपकी है ({level}):\n"
        + _CASE),
    ("upload.committed", "log"): (
        "अपलोड {upload_name} सहेजा गया",
        "{upload_name} की {rows} पंक्तियाँ {campaign} में सहेज दी गई हैं।\n{link}"),
    ("upload.committed", "email"): (
        "अपलोड {upload_name} सहेजा गया",
        "{person_name} जी,\n\n{upload_name} की {rows} पंक्तियाँ {campaign} में सहेज दी गई हैं।\n\n"
        "खोलें: {link}"),
    ("report.ready", "log"): (
        "रिपोर्ट तैयार: {report_name}",
        "{period} की रिपोर्ट \"{report_name}\" तैयार है।\n{link}"),
    ("report.ready", "email"): (
        "रिपोर्ट तैयार: {report_name} ({period})",
        "{person_name} जी,\n\n{period} की रिपोर्ट \"{report_name}\" तैयार है।\n\nखोलें: {link}"),
    # promotional (off until an admin switches them on)
    ("customer.birthday", "sms"): (
        "", "जन्मदिन मुबारक, {customer_name}! इस महीने {store_name} में आपके लिए उपहार है। - {brand}"),
    ("customer.anniversary", "sms"): (
        "", "सालगिरह मुबारक, {customer_name}! इस महीने {store_name} में आपके लिए उपहार है। - {brand}"),
}
