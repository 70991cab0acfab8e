"""Audio for the click-to-call load bench (``bench/click_to_call_load.py --audio``).

Both sipp UAS answer and send PCMA RTP for the whole call: the carrier a
500 Hz tone, the agents' desk phone a 700 Hz one (``tests/rtp_tones.py``
writes the pcaps, long enough for the ring and the talk: sipp plays a pcap
once and stops it when the call ends). The recordings MixMonitor writes are
then checked: how many, their size, and in a few of them how many 20 ms
frames hold each side's tone (a recording of silence has the size but not
the tones)."""
from __future__ import annotations

import statistics
from pathlib import Path

from tests.rtp_tones import tone_scenario, wav_tones, write_tone_pcap
from tests.stack import SIPP_DIR

CARRIER_TONE = 500.0
AGENT_TONE = 700.0
EMPTY_WAV = 44          # a WAV header alone: MixMonitor heard nothing
RING_MARGIN_S = 15.0    # the phone's stream also covers the customer's ring and a slow set-up


def audio_scenarios(folder: Path, talk_ms: int) -> tuple[Path, Path]:
    """(carrier scenario, desk-phone scenario): ``uas_answer_bye`` and ``uas_answer``
    playing a tone pcap of their own instead of sipp's 7 s g711a.pcap."""
    folder.mkdir(parents=True, exist_ok=True)
    seconds = talk_ms / 1000 + RING_MARGIN_S
    carrier_pcap = write_tone_pcap(folder / "carrier-500hz.pcap", CARRIER_TONE, seconds)
    phone_pcap = write_tone_pcap(folder / "agent-700hz.pcap", AGENT_TONE, seconds)
    carrier = tone_scenario(SIPP_DIR / "uas_answer_bye.xml", carrier_pcap, folder / "carrier_tone_bye.xml")
    phone = tone_scenario(SIPP_DIR / "uas_answer.xml", phone_pcap, folder / "phone_tone.xml")
    return carrier, phone


def recordings_summary(recordings_dir: Path, sample: int = 3) -> dict:
    """The WAVs under ``recordings_dir``: count, mean/min bytes, how many are
    empty, and for ``sample`` of them (spread over the run) the share of 20 ms
    frames carrying the carrier's and the agent's tone."""
    files = sorted(recordings_dir.rglob("*.wav"), key=lambda p: p.stat().st_mtime) if recordings_dir.exists() else []
    sizes = [p.stat().st_size for p in files]
    summary = {"count": len(files), "mean_bytes": round(statistics.mean(sizes)) if sizes else 0,
               "min_bytes": min(sizes, default=0), "max_bytes": max(sizes, default=0),
               "empty": sum(1 for s in sizes if s <= EMPTY_WAV), "tone_check": []}
    picks = sorted({round(i * (len(files) - 1) / max(sample - 1, 1)) for i in range(sample)}) if files else []
    for i in picks:
        try:
            frames, found = wav_tones(files[i], (CARRIER_TONE, AGENT_TONE))
        except Exception as error:  # noqa: BLE001 - report, don't hide
            summary["tone_check"].append({"file": files[i].name, "error": repr(error)})
            continue
        summary["tone_check"].append({
            "file": files[i].name, "bytes": sizes[i], "frames": frames,
            "carrier_500hz_share": round(found[CARRIER_TONE] / frames, 2) if frames else 0,
            "agent_700hz_share": round(found[AGENT_TONE] / frames, 2) if frames else 0})
    return summary


def describe(summary: dict) -> str:
    """One table cell: count, mean size, and the sampled files' tone shares."""
    checks = "; ".join(
        f"{c['carrier_500hz_share']:.2f}/{c['agent_700hz_share']:.2f}" if "error" not in c else c["error"]
        for c in summary["tone_check"])
    return (f"{summary['count']} WAVs, mean {summary['mean_bytes']} B (min {summary['min_bytes']}, "
            f"{summary['empty']} empty); frames with carrier/agent tone in {len(summary['tone_check'])} "
            f"sampled: {checks or 'n/a'}")
