"""TRL's SFTTrainer on the rows `train_throughput.py` prepared: the maintained peer's recipe.

Runs in the benchmarks' own peer venv (bench/.venv-peers: torch 2.13 CPU, transformers, peft,
trl), never in the studio's: it imports nothing of the studio. Reads the model folder and the
tokenized rows (input_ids, cut at the cutoff by the caller), trains the same LoRA with padding-
free batches (TRL's fastest setting without packing), gradient checkpointing off (its default
is on, which would cost it a third forward) and in the engine's dtype (SFTConfig's default is
bf16 autocast even on a CPU without bf16 units, where that runs ~7x slower), and prints one JSON line: seconds, real tokens,
peak resident memory, dtype and the library versions.

    bench/.venv-peers/bin/python bench/peer_trl_train.py --model-dir D --rows R.json \
        --targets q_proj,k_proj,v_proj,up_proj,down_proj
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--rows", required=True, help="JSON list of {input_ids: [...]}")
    parser.add_argument("--targets", required=True, help="comma-separated module names")
    parser.add_argument("--r", type=int, default=32)
    parser.add_argument("--alpha", type=int, default=64)
    parser.add_argument("--dropout", type=float, default=0.05)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--bf16",
        action="store_true",
        help="bf16 autocast (TRL's own default); the caller passes it where the engine runs bf16, "
        "since without bf16 units it runs several times slower than fp32",
    )
    parser.add_argument("--warmup-rows", type=int, default=16, help="an untimed first run")
    args = parser.parse_args()

    import peft
    import torch
    import transformers
    import trl
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, PrinterCallback
    from trl import SFTConfig, SFTTrainer

    transformers.logging.set_verbosity_error()
    rows = json.loads(Path(args.rows).read_text())
    tok = AutoTokenizer.from_pretrained(args.model_dir)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token

    def run(subset: list[dict]) -> tuple[float, int]:
        model = AutoModelForCausalLM.from_pretrained(args.model_dir, dtype=torch.float32)
        lora = LoraConfig(
            r=args.r,
            lora_alpha=args.alpha,
            lora_dropout=args.dropout,
            target_modules=args.targets.split(","),
            task_type="CAUSAL_LM",
        )
        cfg = SFTConfig(
            output_dir=tempfile.mkdtemp(),
            per_device_train_batch_size=4,
            gradient_accumulation_steps=4,
            num_train_epochs=1,
            learning_rate=args.lr,
            warmup_steps=0,
            logging_steps=1,
            save_strategy="no",
            report_to="none",
            disable_tqdm=True,
            use_cpu=not torch.cuda.is_available(),
            seed=args.seed,
            padding_free=True,
            max_length=None,  # padding-free refuses a max_length: the rows are cut already
            gradient_checkpointing=False,
            completion_only_loss=False,  # the paper's recipe trains on inputs too
            bf16=args.bf16,  # SFTConfig turns bf16 on by default, on any CPU
        )
        data = Dataset.from_list([{"input_ids": r["input_ids"]} for r in subset])
        trainer = SFTTrainer(
            model=model, args=cfg, train_dataset=data, processing_class=tok, peft_config=lora
        )
        trainer.remove_callback(PrinterCallback)
        start = time.perf_counter()
        trainer.train()
        return time.perf_counter() - start, sum(len(r["input_ids"]) for r in subset)

    if args.warmup_rows:
        run(rows[: args.warmup_rows])  # the first Trainer run in a process pays one-time set-up
    seconds, tokens = run(rows)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "tokens": tokens,
                "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                "dtype": "bfloat16" if args.bf16 else "float32",
                "versions": {
                    "trl": trl.__version__,
                    "transformers": transformers.__version__,
                    "peft": peft.__version__,
                    "torch": torch.__version__,
                },
            }
        )
    )


if __name__ == "__main__":
    main()
