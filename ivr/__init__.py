"""The inbound IVR: a FastAGI server (``fastagi``) that Asterisk's cc-inbound
dialplan connects to, IVR flows kept as data (``flows``), a pure state
machine walking them (``engine``) and the session that drives it over one
AGI connection (``session``, the only place with I/O). Prompts are rendered
from text at set-up (``prompts``)."""
