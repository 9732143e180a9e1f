#!/usr/bin/env python3
"""Contract test: the official `openai` Python client against `unicorn serve` on loopback.

Usage: openai_contract.py UNICORN_BINARY MODEL.gguf
Exit 77 (ctest: skipped) when the openai package or the model is missing.
Covers: models.list, chat and completions (whole and streamed), stream_options.include_usage,
stop strings, seed reproducibility, usage counts, logprobs (chat and legacy shapes, whole and
streamed), and the SDK's exception types for refusals.
"""
import os
import re
import signal
import subprocess
import sys
import time

try:
    import openai
except ImportError:
    print("openai package not installed (scripts/python-env)")
    sys.exit(77)

binary, model = sys.argv[1], sys.argv[2]
if not os.path.exists(model):
    print(f"{model} not fetched (scripts/fetch-models)")
    sys.exit(77)


def start(*extra):
    p = subprocess.Popen([binary, "serve", "-m", model, "--port", "0", "-c", "512",
                          "-t", "2", "--alias", "gemma", *extra],
                         stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        line = p.stderr.readline()
        m = re.search(r"on http://127\.0\.0\.1:(\d+)", line)
        if m:
            return p, int(m.group(1))
        if p.poll() is not None:
            break
    p.kill()
    raise SystemExit("unicorn serve did not start")


def stop(p):
    p.send_signal(signal.SIGTERM)
    rc = p.wait(timeout=60)
    assert rc == 0, f"serve exited {rc} on SIGTERM"


# Requests are repeated and compared below (seed, stream against whole): no kept KV caches, whose
# reuse computes a prompt's last token alone and moves the logits slightly (as llama-server's
# cache_prompt does); the API-key server below checks reuse through the client.
proc, port = start("--cache-slots", "0")
client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="none", max_retries=0)
try:
    assert [m.id for m in client.models.list().data] == ["gemma"]

    msgs = [{"role": "user", "content": "Count from one to ten."}]
    r = client.chat.completions.create(model="gemma", messages=msgs, max_tokens=12, temperature=0)
    text = r.choices[0].message.content
    assert r.object == "chat.completion" and r.choices[0].message.role == "assistant"
    assert r.choices[0].finish_reason in ("stop", "length")
    assert r.usage.completion_tokens <= 12 and r.usage.prompt_tokens > 5
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens

    # Streamed: the same text, the role first, the usage chunk last.
    chunks = list(client.chat.completions.create(
        model="gemma", messages=msgs, max_tokens=12, temperature=0, stream=True,
        stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed == text, (streamed, text)
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == r.usage.completion_tokens
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == r.choices[0].finish_reason

    # Stop strings: the text ends right before the stop string, which is not returned.
    if len(text) >= 6:
        s = text[len(text) // 2:len(text) // 2 + 2]
        r2 = client.chat.completions.create(model="gemma", messages=msgs, max_tokens=12,
                                            temperature=0, stop=[s])
        assert r2.choices[0].message.content == text[:text.find(s)]
        assert r2.choices[0].finish_reason == "stop"

    # Seeded sampling repeats.
    a = client.chat.completions.create(model="gemma", messages=msgs, max_tokens=8,
                                       temperature=1.0, seed=7)
    b = client.chat.completions.create(model="gemma", messages=msgs, max_tokens=8,
                                       temperature=1.0, seed=7)
    assert a.choices[0].message.content == b.choices[0].message.content

    c = client.completions.create(model="gemma", prompt="The capital of France is",
                                  max_tokens=4, temperature=0)
    assert c.object == "text_completion" and isinstance(c.choices[0].text, str)
    streamed = "".join(x.choices[0].text for x in client.completions.create(
        model="gemma", prompt="The capital of France is", max_tokens=4, temperature=0,
        stream=True) if x.choices)
    assert streamed == c.choices[0].text

    # Logprobs: the SDK parses them into its types; one entry per completion token, each <= 0,
    # top_logprobs most likely first, and (greedy) the chosen token is the first of them.
    r = client.chat.completions.create(model="gemma", messages=msgs, max_tokens=8, temperature=0,
                                       logprobs=True, top_logprobs=3)
    content = r.choices[0].logprobs.content
    assert len(content) == r.usage.completion_tokens, (len(content), r.usage)
    for e in content:
        assert e.logprob <= 0 and len(e.top_logprobs) == 3
        assert [t.logprob for t in e.top_logprobs] == sorted(
            [t.logprob for t in e.top_logprobs], reverse=True)
        assert e.top_logprobs[0].bytes == e.bytes and e.top_logprobs[0].logprob == e.logprob
    assert bytes(b for e in content for b in e.bytes).decode() == r.choices[0].message.content
    chunks = list(client.chat.completions.create(
        model="gemma", messages=msgs, max_tokens=8, temperature=0, stream=True, logprobs=True,
        top_logprobs=3))
    streamed = [e for c in chunks if c.choices and c.choices[0].logprobs
                for e in c.choices[0].logprobs.content]
    assert [(e.token, e.logprob) for e in streamed] == [(e.token, e.logprob) for e in content]
    c = client.completions.create(model="gemma", prompt="The capital of France is",
                                  max_tokens=4, temperature=0, logprobs=2)
    lp = c.choices[0].logprobs
    assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.top_logprobs) == \
        len(lp.text_offset) == c.usage.completion_tokens
    assert "".join(lp.tokens) == c.choices[0].text
    assert all(lp.tokens[i] in lp.top_logprobs[i] for i in range(len(lp.tokens)))

    # Refusals raise the SDK's exception types.
    for kwargs, exc in [({"max_tokens": -1}, openai.BadRequestError),
                        ({"n": 2}, openai.BadRequestError),
                        ({"logprobs": True, "top_logprobs": 21}, openai.BadRequestError),
                        ({"model": "nope"}, openai.NotFoundError)]:
        args = {"model": "gemma", "messages": msgs, "max_tokens": 4, **kwargs}
        try:
            client.chat.completions.create(**args)
            raise AssertionError(f"{kwargs} was accepted")
        except exc:
            pass
finally:
    stop(proc)

proc, port = start("--api-key", "k3y")
try:
    bad = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="wrong", max_retries=0)
    try:
        bad.models.list()
        raise AssertionError("a wrong key was accepted")
    except openai.AuthenticationError:
        pass
    good = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="k3y", max_retries=0)
    assert good.models.list().data[0].id == "gemma"
    # Prefix reuse (kept caches by default): the repeat finds all but its last prompt token.
    first = good.completions.create(model="gemma", prompt="The capital of France is",
                                    max_tokens=2, temperature=0)
    again = good.completions.create(model="gemma", prompt="The capital of France is",
                                    max_tokens=2, temperature=0)
    assert first.usage.prompt_tokens_details.cached_tokens == 0, first.usage
    assert again.usage.prompt_tokens_details.cached_tokens == again.usage.prompt_tokens - 1, \
        again.usage
finally:
    stop(proc)
print("openai contract: ok")
