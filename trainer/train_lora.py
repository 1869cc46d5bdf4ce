"""Relation Lens LoRA trainer (torch + transformers + peft).

The TypeScript side renders every training example exactly as extraction sends it (template,
relation list, answer format, the model's chat template) and hands this script token ids plus
the start of the answer; the loss covers the answer tokens only. The result is written as a
llama.cpp GGUF LoRA adapter that applies to the original (quantized) GGUF base.

Protocol: one JSON object per line on stdout ({"event": ...}); human-readable logs on stderr.
SIGINT/SIGTERM stop after the current step: the adapter trained so far is saved and exported.

Subcommands:
  env    versions, device, threads
  train  --data DATA.jsonl --base BASE(.gguf|dir) --export OUT.gguf [...]
  score  --base BASE --prompts PROMPTS.jsonl [--adapter A.gguf] --out SCORES.jsonl
"""

from __future__ import annotations

import os

# Before torch loads: OpenMP workers sleep instead of spinning when they wait, so training beside
# the editor (and extraction) does not burn the cores it is not using.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("KMP_BLOCKTIME", "0")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

import protocol  # trainer/protocol.py: events on stdout, logs, stop on signals
from protocol import emit, fail, read_jsonl

TARGETS = {
    # Hugging Face module name -> llama.cpp tensor name (blk.N.<name>.weight)
    "q_proj": "attn_q",
    "k_proj": "attn_k",
    "v_proj": "attn_v",
    "o_proj": "attn_output",
    "gate_proj": "ffn_gate",
    "up_proj": "ffn_up",
    "down_proj": "ffn_down",
}

# llama.cpp architectures whose blocks have separate q/k/v/o and gate/up/down projections, and
# whether llama.cpp's converter permuted the rows of q and k (transformers' GGUF loader undoes it,
# so the exported lora_b of q/k must be permuted back).
SUPPORTED_ARCHS = {"llama": True, "qwen2": False, "qwen3": False, "gemma2": False, "gemma3": False}
HF_TYPE_TO_ARCH = {"llama": "llama", "mistral": "llama", "qwen2": "qwen2", "qwen3": "qwen3", "gemma2": "gemma2", "gemma3_text": "gemma3", "gemma3": "gemma3"}



def setup_torch(threads: int | None):
    import torch

    if threads:
        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass
    return torch


def pick_device(torch, requested: str):
    if requested == "cpu":
        return torch.device("cpu"), torch.float32
    if torch.cuda.is_available():
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.device("cuda"), dtype
    if requested == "cuda":
        fail("--device cuda: no CUDA device is available to torch")
    return torch.device("cpu"), torch.float32


def base_arch(base: str) -> tuple[str, bool]:
    """The llama.cpp architecture of the base model and whether q/k rows are permuted."""
    if base.endswith(".gguf"):
        from gguf import GGUFReader

        r = GGUFReader(base)
        f = r.fields.get("general.architecture")
        if f is None:
            fail(f"{base}: no general.architecture in the GGUF header")
        arch = bytes(f.parts[f.data[0]]).decode("utf-8")
    else:
        cfg = json.loads((Path(base) / "config.json").read_text(encoding="utf-8"))
        mt = cfg.get("model_type", "")
        arch = HF_TYPE_TO_ARCH.get(mt, mt)
    if arch not in SUPPORTED_ARCHS:
        fail(
            f"{base}: architecture {arch!r} is not supported for LoRA export "
            f"(supported: {', '.join(sorted(SUPPORTED_ARCHS))}; fused qkv or MoE blocks are not)"
        )
    return arch, SUPPORTED_ARCHS[arch]


def load_base(torch, base: str, device, dtype):
    from transformers import AutoModelForCausalLM

    t0 = time.time()
    try:
        if base.endswith(".gguf"):
            p = Path(base).resolve()
            model = AutoModelForCausalLM.from_pretrained(str(p.parent), gguf_file=p.name, dtype=torch.float32)
        else:
            model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    except Exception as e:  # noqa: BLE001 — the message goes to the user
        fail(f"cannot load base model {base}: {e}")
    # float32 weights everywhere; on a GPU the forward pass runs under bf16/fp16 autocast (mixed
    # precision): bf16 weights with lr 1e-3 on every block gave NaN losses within 300 steps.
    model.to(device=device, dtype=torch.float32)
    emit("loaded", base=base, seconds=round(time.time() - t0, 2), layers=model.config.num_hidden_layers)
    return model


# --layers auto: every block on a GPU; on a CPU the blocks nearest the output (minutes, not hours).
AUTO_CPU_LAYERS = "top-10"


def layer_indices(spec: str, n_layers: int, device) -> list[int]:
    if spec == "auto":
        spec = "all" if device.type == "cuda" else AUTO_CPU_LAYERS
    if spec == "all":
        return list(range(n_layers))
    if spec.startswith("top-"):
        k = int(spec[4:])
        if k <= 0:
            fail(f"--layers {spec}: N must be positive")
        return list(range(max(0, n_layers - k), n_layers))
    fail(f"--layers {spec}: expected top-N, all or auto")
    return []


def add_lora(model, rank: int, alpha: float, layers: list[int]):
    from peft import LoraConfig, get_peft_model

    cfg = LoraConfig(
        r=rank,
        lora_alpha=alpha,
        lora_dropout=0.0,
        target_modules=list(TARGETS),
        layers_to_transform=layers,
        bias="none",
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, cfg)


def permute_rows(w, n_head: int, n_head_kv: int):
    """llama.cpp's converter permutation of q/k rows (applied to lora_b, the output side)."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def unpermute_rows(w, n_head: int, n_head_kv: int):
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def lora_pairs(model):
    """(layer, hf module, lora_A module, lora_B module) for every LoRA-wrapped projection."""
    import re

    out = []
    for name, mod in model.named_modules():
        m = re.search(r"layers\.(\d+)\.(?:self_attn|mlp)\.(\w+_proj)$", name)
        if m and hasattr(mod, "lora_A") and "default" in mod.lora_A:
            out.append((int(m.group(1)), m.group(2), mod.lora_A["default"], mod.lora_B["default"]))
    return out


def export_gguf(model, path: str, arch: str, permute: bool, alpha: float) -> int:
    import numpy as np
    from gguf import GGUFWriter, GGUFType, Keys

    cfg = model.config
    n_head = cfg.num_attention_heads
    n_kv = getattr(cfg, "num_key_value_heads", None) or n_head
    tmp = path + ".part"
    w = GGUFWriter(tmp, arch)
    w.add_type(GGUFType.ADAPTER)
    w.add_string(Keys.Adapter.TYPE, "lora")
    w.add_float32(Keys.Adapter.LORA_ALPHA, float(alpha))
    n = 0
    for layer, proj, a_mod, b_mod in sorted(lora_pairs(model), key=lambda x: (x[0], x[1])):
        a = a_mod.weight.detach().float().cpu().numpy().astype(np.float32)
        b = b_mod.weight.detach().float().cpu().numpy().astype(np.float32)
        if permute and proj == "q_proj":
            b = permute_rows(b, n_head, n_head)
        elif permute and proj == "k_proj":
            b = permute_rows(b, n_head, n_kv)
        base = f"blk.{layer}.{TARGETS[proj]}.weight"
        w.add_tensor(base + ".lora_a", np.ascontiguousarray(a))
        w.add_tensor(base + ".lora_b", np.ascontiguousarray(b))
        n += 2
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    os.replace(tmp, path)
    return n


def import_gguf(model, path: str, permute: bool) -> dict:
    """Loads a GGUF LoRA adapter written by export_gguf into the peft model (for --resume-from)."""
    import numpy as np
    import torch
    from gguf import GGUFReader

    r = GGUFReader(path)
    tensors = {t.name: np.array(t.data, dtype=np.float32).reshape([int(x) for x in reversed(t.shape)]) for t in r.tensors}
    cfg = model.config
    n_head = cfg.num_attention_heads
    n_kv = getattr(cfg, "num_key_value_heads", None) or n_head
    seen = 0
    for layer, proj, a_mod, b_mod in lora_pairs(model):
        base = f"blk.{layer}.{TARGETS[proj]}.weight"
        a = tensors.get(base + ".lora_a")
        b = tensors.get(base + ".lora_b")
        if a is None or b is None:
            fail(f"{path}: no {base}.lora_a/.lora_b; train with the same --layers and --rank as the adapter")
        if tuple(a.shape) != tuple(a_mod.weight.shape) or tuple(b.shape) != tuple(b_mod.weight.shape):
            fail(f"{path}: {base} has rank {a.shape[0]}, expected {a_mod.weight.shape[0]}; pass the adapter's --rank")
        if permute and proj == "q_proj":
            b = unpermute_rows(b, n_head, n_head)
        elif permute and proj == "k_proj":
            b = unpermute_rows(b, n_head, n_kv)
        with torch.no_grad():
            a_mod.weight.copy_(torch.from_numpy(np.ascontiguousarray(a)))
            b_mod.weight.copy_(torch.from_numpy(np.ascontiguousarray(b)))
        seen += 2
    alpha_field = r.fields.get("adapter.lora.alpha")
    alpha = float(alpha_field.parts[alpha_field.data[0]][0]) if alpha_field else None
    return {"tensors": seen, "alpha": alpha}


def adapter_layout(path: str) -> tuple[int, list[int], float]:
    """Rank, layers and alpha of a GGUF LoRA adapter."""
    import re
    from gguf import GGUFReader

    try:
        r = GGUFReader(path)
    except Exception as e:  # noqa: BLE001
        fail(f"{path}: not a readable GGUF file: {e}")
    layers = set()
    rank = None
    for t in r.tensors:
        m = re.match(r"blk\.(\d+)\..*\.lora_a$", t.name)
        if m:
            layers.add(int(m.group(1)))
            rank = int(t.shape[1])
    f = r.fields.get("adapter.lora.alpha")
    if rank is None or f is None:
        fail(f"{path}: not a LoRA adapter (no lora_a tensors or adapter.lora.alpha)")
    return rank, sorted(layers), float(f.parts[f.data[0]][0])


def batches(examples: list[dict], batch_size: int, rng: random.Random):
    order = list(range(len(examples)))
    rng.shuffle(order)
    for i in range(0, len(order), batch_size):
        yield [examples[j] for j in order[i : i + batch_size]]


def collate(torch, batch: list[dict], device, pad_id: int):
    """Left-padded batch: every answer ends at the last position, so only the last few positions
    need logits (the vocabulary projection of a 500-token prompt is most of the memory)."""
    n = max(len(e["ids"]) for e in batch)
    ids = torch.full((len(batch), n), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), n), dtype=torch.long)
    labels = torch.full((len(batch), n), -100, dtype=torch.long)
    for i, e in enumerate(batch):
        t = torch.tensor(e["ids"], dtype=torch.long)
        off = n - len(t)
        ids[i, off:] = t
        mask[i, off:] = 1
        labels[i, off + e["answer_start"] :] = t[e["answer_start"] :]
    keep = max(len(e["ids"]) - e["answer_start"] for e in batch) + 1
    return ids.to(device), mask.to(device), labels.to(device), keep


def answer_loss(torch, model, ids, mask, labels, keep: int):
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    out = model(input_ids=ids, attention_mask=mask, position_ids=positions, logits_to_keep=keep)
    logits = out.logits[:, :-1, :].float()
    target = labels[:, labels.shape[1] - keep + 1 :]
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-100)


def candidate_logprobs(torch, model, prompt: list[int], candidates: list[list[int]], device) -> list[list[float]]:
    """Per-token log-probabilities of each candidate continuation after the prompt (teacher forced).
    The prompt is evaluated once; each candidate continues from its cached keys and values."""
    model.eval()
    with torch.no_grad():
        out = model(input_ids=torch.tensor([prompt], device=device), use_cache=True)
        first = torch.log_softmax(out.logits[0, -1].float(), dim=-1)
        if all(len(c) == 1 for c in candidates):
            return [[float(first[c[0]])] for c in candidates]
        cache = out.past_key_values
        result: list[list[float]] = []
        for c in candidates:
            lps = [float(first[c[0]])]
            if len(c) > 1:
                step = model(input_ids=torch.tensor([c[:-1]], device=device), past_key_values=cache, use_cache=True)
                lp = torch.log_softmax(step.logits[0].float(), dim=-1)
                lps += [float(lp[i, tok]) for i, tok in enumerate(c[1:])]
                cache.crop(-(len(c) - 1))
            result.append(lps)
        return result


def evaluate(torch, model, dev: list[dict], device, pad_id: int, batch_size: int) -> dict:
    model.eval()
    losses = []
    correct = 0
    with torch.no_grad():
        for i in range(0, len(dev), batch_size):
            b = dev[i : i + batch_size]
            ids, mask, labels, keep = collate(torch, b, device, pad_id)
            losses.append(float(answer_loss(torch, model, ids, mask, labels, keep)))
        for e in dev:
            if "candidates" in e and "gold" in e:
                lps = candidate_logprobs(torch, model, e["ids"][: e["answer_start"]], e["candidates"], device)
                best = max(range(len(lps)), key=lambda k: sum(lps[k]))
                correct += int(best == e["gold"])
    model.train()
    res = {"loss": round(sum(losses) / max(1, len(losses)), 4)}
    if any("candidates" in e for e in dev):
        res["accuracy"] = round(correct / len(dev), 4)
    return res


def cmd_env(_args) -> None:
    import peft
    import torch
    import transformers

    emit(
        "done",
        python=sys.version.split()[0],
        torch=torch.__version__,
        transformers=transformers.__version__,
        peft=peft.__version__,
        cuda=torch.cuda.is_available(),
        device=torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
        threads=torch.get_num_threads(),
    )


def cmd_train(args) -> None:
    torch = setup_torch(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    device, dtype = pick_device(torch, args.device)
    data = read_jsonl(args.data)
    for i, e in enumerate(data, 1):
        if not isinstance(e.get("ids"), list) or not isinstance(e.get("answer_start"), int) or not (0 < e["answer_start"] < len(e["ids"])):
            fail(f"{args.data}:{i}: expected ids (token ids) and answer_start inside them")
    if not data:
        fail(f"{args.data}: no training examples")
    dev = read_jsonl(args.dev) if args.dev else []
    arch, permute = base_arch(args.base)
    model = load_base(torch, args.base, device, dtype)
    layers = layer_indices(args.layers, model.config.num_hidden_layers, device)
    if args.resume_from:
        # the adapter decides rank, layers and alpha
        args.rank, layers, args.alpha = adapter_layout(args.resume_from)
    model = add_lora(model, args.rank, args.alpha, layers)
    if args.resume_from:
        info = import_gguf(model, args.resume_from, permute)
        emit("resumed", adapter=args.resume_from, **info)
    model.train()
    pad_id = model.config.pad_token_id if isinstance(model.config.pad_token_id, int) else 0
    params = [p for p in model.parameters() if p.requires_grad]
    trainable = sum(p.numel() for p in params)
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0)
    steps_per_epoch = math.ceil(len(data) / args.batch_size)
    total = steps_per_epoch * args.epochs
    if args.max_steps:
        total = min(total, args.max_steps)
    warmup = min(args.warmup, max(0, total - 1))

    def lr_at(step: int) -> float:
        if step < warmup:
            return args.lr * (step + 1) / (warmup + 1)
        rest = max(1, total - warmup)
        return args.lr * max(0.0, 1 - (step - warmup) / rest)

    emit(
        "start",
        examples=len(data),
        dev=len(dev),
        steps=total,
        epochs=args.epochs,
        batch_size=args.batch_size,
        trainable_parameters=trainable,
        layers=layers,
        arch=arch,
        device=device.type,
        dtype=str(dtype).replace("torch.", ""),
        threads=torch.get_num_threads(),
    )
    protocol.stop_on_signals()
    step = 0
    t0 = time.time()
    seen = 0
    curve: list[list[float]] = []
    window: list[float] = []
    stopped = False
    skipped = skipped_in_row = 0
    for epoch in range(args.epochs):
        for batch in batches(data, args.batch_size, rng):
            if step >= total:
                break
            if protocol.stop_requested:
                stopped = True
                break
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            ids, mask, labels, keep = collate(torch, batch, device, pad_id)
            with torch.autocast(device_type=device.type, dtype=dtype, enabled=device.type == "cuda"):
                loss = answer_loss(torch, model, ids, mask, labels, keep)
            if not torch.isfinite(loss):
                # one bad batch is skipped (reported); a run that keeps producing them stops
                skipped += 1
                skipped_in_row += 1
                if skipped_in_row >= 5:
                    fail(f"the loss became {float(loss.detach())} at step {step + 1} ({skipped_in_row} batches in a row); lower --lr")
                emit("warning", message=f"the loss became {float(loss.detach())} at step {step + 1}: batch skipped")
                opt.zero_grad(set_to_none=True)
                continue
            skipped_in_row = 0
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(params, 1.0)
            if not torch.isfinite(norm):
                # a finite loss with non-finite gradients would turn the adapter into NaN: skip it
                skipped += 1
                emit("warning", message=f"non-finite gradients at step {step + 1}: batch skipped")
                opt.zero_grad(set_to_none=True)
                continue
            opt.step()
            opt.zero_grad(set_to_none=True)
            step += 1
            seen += len(batch)
            value = float(loss.detach())
            window.append(value)
            window = window[-10:]
            elapsed = time.time() - t0
            rate = seen / elapsed if elapsed > 0 else 0.0
            avg = sum(window) / len(window)
            curve.append([step, round(value, 4)])
            emit(
                "progress",
                step=step,
                steps=total,
                epoch=epoch + 1,
                loss=round(value, 4),
                loss_avg=round(avg, 4),
                lr=lr_at(step - 1),
                examples_per_s=round(rate, 3),
                eta_s=round((total - step) * elapsed / step, 1),
            )
            if args.checkpoint_every and step % args.checkpoint_every == 0 and step < total:
                n = export_gguf(model, args.checkpoint, arch, permute, args.alpha)
                emit("checkpoint", path=args.checkpoint, step=step, tensors=n)
        if stopped or step >= total:
            break
        if dev:
            emit("dev", epoch=epoch + 1, **evaluate(torch, model, dev, device, pad_id, args.batch_size))
    dev_result = evaluate(torch, model, dev, device, pad_id, args.batch_size) if dev and not stopped else None
    n = export_gguf(model, args.export, arch, permute, args.alpha)
    if args.score and args.score_out:
        score_file(torch, model, args.score, args.score_out, device)
    emit(
        "done",
        adapter=args.export,
        tensors=n,
        steps=step,
        examples_seen=seen,
        seconds=round(time.time() - t0, 2),
        stopped=stopped,
        skipped_batches=skipped,
        loss_curve=curve,
        dev=dev_result,
        peak_rss_mb=peak_rss_mb(),
        **gpu_report(torch, device),
    )


def gpu_report(torch, device) -> dict:
    """The device trained on and, on a GPU, the most memory torch allocated there."""
    if device.type != "cuda":
        return {"device": "cpu"}
    return {
        "device": torch.cuda.get_device_name(device),
        "peak_gpu_mb": round(torch.cuda.max_memory_allocated(device) / 2**20, 1),
    }


def peak_rss_mb() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(r / 1024 if sys.platform != "darwin" else r / 1024 / 1024, 1)


def score_file(torch, model, prompts_path: str, out_path: str, device, with_base: bool = False) -> None:
    """Answer log-probabilities per prompt; with_base: also without the adapter (same loaded model)."""
    prompts = read_jsonl(prompts_path)
    with open(out_path + ".part", "w", encoding="utf-8") as f:
        for i, p in enumerate(prompts, 1):
            if not isinstance(p.get("prompt"), list) or not isinstance(p.get("candidates"), list):
                fail(f"{prompts_path}:{i}: expected prompt (token ids) and candidates (lists of token ids)")
            row = {"logprobs": candidate_logprobs(torch, model, p["prompt"], p["candidates"], device)}
            if with_base:
                with model.disable_adapter():
                    row["base"] = candidate_logprobs(torch, model, p["prompt"], p["candidates"], device)
            f.write(json.dumps(row) + "\n")
    os.replace(out_path + ".part", out_path)


def cmd_score(args) -> None:
    torch = setup_torch(args.threads)
    device, dtype = pick_device(torch, args.device)
    model = load_base(torch, args.base, device, dtype)
    if args.adapter:
        arch, permute = base_arch(args.base)
        rank, layers, alpha = adapter_layout(args.adapter)
        model = add_lora(model, rank, alpha, layers)
        import_gguf(model, args.adapter, permute)
    score_file(torch, model, args.prompts, args.out, device, with_base=bool(args.adapter and args.with_base))
    emit("done", out=args.out)


def main() -> None:
    ap = argparse.ArgumentParser(prog="train_lora.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("env")
    t = sub.add_parser("train")
    t.add_argument("--data", required=True)
    t.add_argument("--dev")
    t.add_argument("--base", required=True)
    t.add_argument("--export", required=True)
    t.add_argument("--checkpoint", help="GGUF path the checkpoints are exported to")
    t.add_argument("--checkpoint-every", type=int, default=0)
    t.add_argument("--epochs", type=int, default=1)
    t.add_argument("--max-steps", type=int, default=0)
    t.add_argument("--batch-size", type=int, default=8)
    t.add_argument("--rank", type=int, default=16)
    t.add_argument("--alpha", type=float, default=32.0)
    t.add_argument("--layers", default="auto")
    t.add_argument("--lr", type=float, default=2e-4)
    t.add_argument("--warmup", type=int, default=5)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int)
    t.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    t.add_argument("--resume-from")
    t.add_argument("--score", help="prompts to score with the trained model (export check)")
    t.add_argument("--score-out")
    s = sub.add_parser("score")
    s.add_argument("--base", required=True)
    s.add_argument("--prompts", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--adapter")
    s.add_argument("--with-base", action="store_true", help="also score without the adapter")
    s.add_argument("--threads", type=int)
    s.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    args = ap.parse_args()
    if args.cmd == "train" and args.checkpoint_every and not args.checkpoint:
        fail("--checkpoint-every needs --checkpoint")
    {"env": cmd_env, "train": cmd_train, "score": cmd_score}[args.cmd](args)


if __name__ == "__main__":
    main()
