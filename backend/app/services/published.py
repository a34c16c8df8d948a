"""The LLM-Adapters paper's published figures: the reference rows of the leaderboard.

Read from the two "Finetune Result" tables of the paper's README (github.com/AGI-Edgerunners/
LLM-Adapters): accuracy % after fine-tuning on math_10k (the arithmetic table) or
commonsense_170k (the commonsense table), each with the table's own Average column. Only what
those tables print is here (no GPT-3.5/ChatGPT rows: they are not adapter runs). The paper
scored its full test sets with its evaluate.py rules, 4-beam decoding and its own prompts.
"""

from __future__ import annotations

from typing import Any

ARITHMETIC = ("gsm8k", "aqua", "mawps", "svamp")
COMMONSENSE = (
    "boolq",
    "piqa",
    "social_i_qa",
    "hellaswag",
    "winogrande",
    "arc-e",
    "arc-c",
    "openbookqa",
)
TABLES = {
    "arithmetic": ("LLM-Adapters README, arithmetic table (math_10k)", ARITHMETIC),
    "commonsense": ("LLM-Adapters README, commonsense table (commonsense_170k)", COMMONSENSE),
}
METHOD_LABELS = {"prefix": "Prefix", "series": "Series", "parallel": "Parallel", "lora": "LoRA"}
# The paper's best placements (its README: "the optimal configuration and placement").
PLACEMENTS: dict[str, dict[str, Any]] = {
    "prefix": {},
    "series": {"modules": ["down"], "position": "after", "layers": "all"},
    "parallel": {"modules": ["up", "down"], "position": "beside", "layers": "all"},
    "lora": {"modules": ["q", "k", "v", "up", "down"], "layers": "all"},
}

# (table, model, method, the table's figures in its column order, its Average)
# fmt: off
_FIGURES: tuple[tuple[str, str, str, tuple[float, ...], float], ...] = (
    ("arithmetic", "BLOOMz-7B", "prefix", (13.8, 12.5, 47.5, 24.1), 24.5),
    ("arithmetic", "BLOOMz-7B", "series", (14.3, 20.5, 62.2, 38.1), 33.8),
    ("arithmetic", "BLOOMz-7B", "parallel", (18.5, 18.9, 70.6, 36.4), 36.1),
    ("arithmetic", "BLOOMz-7B", "lora", (17.4, 21.3, 70.2, 41.0), 37.5),
    ("arithmetic", "GPT-J-6B", "prefix", (16.0, 14.7, 59.2, 31.0), 30.2),
    ("arithmetic", "GPT-J-6B", "series", (19.5, 15.0, 80.3, 43.6), 39.6),
    ("arithmetic", "GPT-J-6B", "parallel", (18.9, 17.9, 78.2, 41.1), 39.0),
    ("arithmetic", "GPT-J-6B", "lora", (23.0, 16.1, 79.4, 46.0), 41.1),
    ("arithmetic", "LLaMA-7B", "prefix", (24.4, 14.2, 63.4, 38.1), 35.0),
    ("arithmetic", "LLaMA-7B", "series", (33.3, 15.0, 77.7, 52.3), 44.6),
    ("arithmetic", "LLaMA-7B", "parallel", (35.3, 18.1, 82.4, 49.6), 46.4),
    ("arithmetic", "LLaMA-7B", "lora", (37.5, 18.9, 79.0, 52.1), 46.9),
    ("arithmetic", "LLaMA-13B", "prefix", (31.1, 15.7, 66.8, 41.4), 38.8),
    ("arithmetic", "LLaMA-13B", "series", (44.0, 22.0, 78.6, 50.8), 48.9),
    ("arithmetic", "LLaMA-13B", "parallel", (43.3, 20.5, 81.1, 55.7), 50.2),
    ("arithmetic", "LLaMA-13B", "lora", (47.5, 18.5, 83.6, 54.6), 51.1),
    ("commonsense", "BLOOMz-7B", "prefix", (45.6, 53.7, 46.3, 26.7, 49.5, 52.1, 39.7, 44.3), 44.7),
    ("commonsense", "BLOOMz-7B", "series", (65.4, 70.4, 73.6, 53.4, 69.3, 72.3, 55.9, 68.0), 66.0),
    ("commonsense", "BLOOMz-7B", "parallel", (64.1, 71.5, 72.1, 52.9, 67.0, 70.5, 54.7, 69.6), 65.3),
    ("commonsense", "BLOOMz-7B", "lora", (65.9, 75.3, 74.5, 57.3, 72.5, 74.6, 57.8, 73.4), 68.9),
    ("commonsense", "GPT-J-6B", "prefix", (63.1, 66.9, 68.7, 34.4, 64.5, 64.4, 46.8, 59.0), 58.5),
    ("commonsense", "GPT-J-6B", "series", (62.1, 63.5, 72.3, 30.6, 68.0, 63.9, 48.1, 63.8), 59.0),
    ("commonsense", "GPT-J-6B", "parallel", (62.2, 69.7, 70.0, 41.7, 65.0, 60.2, 44.6, 58.2), 59.0),
    ("commonsense", "GPT-J-6B", "lora", (62.4, 68.6, 49.5, 43.1, 57.3, 43.4, 31.0, 46.6), 50.2),
    ("commonsense", "LLaMA-7B", "prefix", (64.3, 76.8, 73.9, 42.1, 72.1, 72.9, 54.0, 60.6), 64.6),
    ("commonsense", "LLaMA-7B", "series", (63.0, 79.2, 76.3, 67.9, 75.7, 74.5, 57.1, 72.4), 70.8),
    ("commonsense", "LLaMA-7B", "parallel", (67.9, 76.4, 78.8, 69.8, 78.9, 73.7, 57.3, 75.2), 72.3),
    ("commonsense", "LLaMA-7B", "lora", (68.9, 80.7, 77.4, 78.1, 78.8, 77.8, 61.3, 74.8), 74.7),
    ("commonsense", "LLaMA-13B", "prefix", (65.3, 75.4, 72.1, 55.2, 68.6, 79.5, 62.9, 68.0), 68.4),
    ("commonsense", "LLaMA-13B", "series", (71.8, 83.0, 79.2, 88.1, 82.4, 82.5, 67.3, 81.8), 79.5),
    ("commonsense", "LLaMA-13B", "parallel", (72.5, 84.8, 79.8, 92.1, 84.7, 84.2, 71.2, 82.4), 81.5),
    ("commonsense", "LLaMA-13B", "lora", (72.1, 83.5, 80.5, 90.5, 83.7, 82.8, 68.3, 82.4), 80.5),
)
# fmt: on


def published_rows() -> list[dict[str, Any]]:
    """One row per (table, model, method): name, base model, method, placement, the table's
    scores by benchmark name, its average, and which table it comes from."""
    out = []
    for table, model, method, figures, average in _FIGURES:
        label, names = TABLES[table]
        out.append(
            {
                "job_name": f"{model} {METHOD_LABELS[method]} (published)",
                "base_model": model,
                "method": method,
                "placement": dict(PLACEMENTS[method]),
                "suite": table,
                "scores": dict(zip(names, figures, strict=True)),
                "average": average,
                "published_table": label,
            }
        )
    return out
