"""Checks Relation Lens's request bodies against the serving engines' own request models.

Usage: python check_requests.py BODIES.json > RESULT.json

BODIES.json: [{"id", "flavor", "path", "body"}] — every body the project sends (written by
test/contract/serving.test.ts). `vllm` and `sglang` are the pinned wheels, installed --no-deps
(scripts/setup-contract.sh). The packages' own __init__ is not run (it starts GPU platforms and
imports the whole engine); only the OpenAI protocol modules and what they import are loaded,
from the packages' own files.

For each body and each server it reports whether the server's pydantic request model accepts
it, and which of its fields the model does not know (a server ignores those silently: the
constraint would not apply). It also writes each server's own example responses (built with its
response models and dumped as the server would send them) for the test to read back.
"""

import ast
import dataclasses
import importlib
import importlib.metadata
import importlib.util
import json
import sys
import types
import typing


def bare_package(name):
    """Makes the installed package `name` importable without running its __init__."""
    spec = importlib.util.find_spec(name)
    if spec is None:
        raise ModuleNotFoundError(f"{name} is not installed")
    pkg = types.ModuleType(name)
    pkg.__path__ = list(spec.submodule_search_locations)
    # The package's lazy top-level names (vLLM's MODULE_ATTRS), read from its __init__ source.
    attrs = {}
    for node in ast.parse(open(spec.origin).read()).body:
        if (
            isinstance(node, ast.Assign)
            and [getattr(t, "id", None) for t in node.targets] == ["MODULE_ATTRS"]
        ):
            attrs = ast.literal_eval(node.value)

    def lazy(attr):
        if attr not in attrs:
            raise AttributeError(f"module {name} has no attribute {attr}")
        module, member = attrs[attr].split(":")
        return getattr(importlib.import_module(module, name), member)

    pkg.__getattr__ = lazy
    sys.modules[name] = pkg


def load(name, modules):
    try:
        bare_package(name)
        return {k: importlib.import_module(v) for k, v in modules.items()}, None
    except Exception as e:  # noqa: BLE001 - reported to the test as the reason to skip
        return None, f"{type(e).__name__}: {e}"


def known_fields(model):
    names = set()
    for n, f in model.model_fields.items():
        names.add(n)
        if f.alias:
            names.add(f.alias)
    return names


def nested_unknown(model, body):
    """Unknown keys one level down, where the field is a dataclass or a pydantic model."""
    out = []
    for key, value in body.items():
        f = model.model_fields.get(key)
        if f is None or not isinstance(value, dict):
            continue
        for t in [f.annotation, *typing.get_args(f.annotation)]:
            if dataclasses.is_dataclass(t):
                allowed = {x.name for x in dataclasses.fields(t) if x.init}
            elif hasattr(t, "model_fields"):
                allowed = known_fields(t)
            else:
                continue
            out += [f"{key}.{k}" for k in value if k not in allowed]
            break
    return out


def check(model, body):
    unknown = [k for k in body if k not in known_fields(model)] + nested_unknown(model, body)
    try:
        model.model_validate(body)
        return {"ok": True, "unknown": unknown}
    except Exception as e:  # noqa: BLE001 - the validation error is the result
        return {"ok": False, "unknown": unknown, "error": str(e)[:2000]}


def main():
    bodies = json.load(open(sys.argv[1]))
    servers = {}
    vllm, why = load(
        "vllm",
        {
            "chat": "vllm.entrypoints.openai.chat_completion.protocol",
            "embed": "vllm.entrypoints.pooling.embed.protocol",
        },
    )
    if vllm:
        servers["vllm"] = {
            "chat/completions": vllm["chat"].ChatCompletionRequest,
            "embeddings": vllm["embed"].EmbeddingCompletionRequest,
            "chat_response": vllm["chat"].ChatCompletionResponse,
            "version": importlib.metadata.version("vllm"),
        }
    else:
        servers["vllm"] = {"skip": why}
    sg, why = load("sglang", {"p": "sglang.srt.entrypoints.openai.protocol"})
    if sg:
        p = sg["p"]
        servers["sglang"] = {
            "chat/completions": p.ChatCompletionRequest,
            "embeddings": p.EmbeddingRequest,
            "chat_response": p.ChatCompletionResponse,
            "version": importlib.metadata.version("sglang"),
        }
    else:
        servers["sglang"] = {"skip": why}

    result = {"servers": {}, "checks": [], "responses": {}}
    for name, s in servers.items():
        result["servers"][name] = {"skip": s["skip"]} if "skip" in s else {"version": s["version"]}
    for b in bodies:
        for name, s in servers.items():
            if "skip" in s or b["path"] not in s:
                continue
            result["checks"].append(
                {"id": b["id"], "server": name, **check(s[b["path"]], b["body"])}
            )
    # The servers' own answers to a scored, constrained chat request, as they send them.
    example = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Cause-Effect(e1,e2)"},
                "logprobs": {
                    "content": [
                        {
                            "token": "Cause",
                            "logprob": -0.25,
                            "bytes": [67, 97, 117, 115, 101],
                            "top_logprobs": [
                                {"token": "Cause", "logprob": -0.25, "bytes": [67]},
                                {"token": "Other", "logprob": -1.75, "bytes": [79]},
                            ],
                        }
                    ]
                },
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 90,
            "completion_tokens": 5,
            "total_tokens": 95,
            "prompt_tokens_details": {"cached_tokens": 64},
        },
    }
    for name, s in servers.items():
        if "skip" in s:
            continue
        try:
            r = s["chat_response"].model_validate(example)
            result["responses"][name] = json.loads(r.model_dump_json(exclude_none=True))
        except Exception as e:  # noqa: BLE001
            result["responses"][name] = {"error": str(e)[:2000]}
    json.dump(result, sys.stdout)


main()
