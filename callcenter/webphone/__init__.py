"""The web phone: a WebRTC softphone inside the agent panel (agents in the
``browser`` phone mode). Per-login SIP credentials, the SIP WebSocket behind
the panel's own session, registration state from Asterisk, call quality."""
