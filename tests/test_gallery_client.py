"""The in-process gallery server used by endpoint tests answers, and sees env changes."""

from __future__ import annotations


def test_in_process_server_reads_checkpoints_at_request_time(gallery_client, tiny_env, tmp_path):
    label, info, *_ = gallery_client.predict(
        "the capital of france is [MASK].", 3, "", api_name="/bert"
    )
    assert info["checkpoint"] == str(tiny_env["bert"]) and len(label["confidences"]) == 3
