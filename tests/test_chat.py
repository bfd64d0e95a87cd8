"""Chat templates (ckernel.h section 16) and `ck chat`.

Rendering: each family's real template text (tests/data/chat_templates/, the chat_template string of
the model's tokenizer_config.json) is rendered with Python's jinja2 as HF's apply_chat_template does
(trim_blocks, lstrip_blocks, raise_exception, bos_token/eos_token of the family) and by
ck_chat_render through ctypes on build/libckernel.so: the bytes must be identical, and where the
template raises, ckernel must refuse. Detection: each real text is recognised as its family; a
made-up template is not.
"""
import ctypes
import os

import pytest

import jinja2  # noqa: E402  (Debian python3-jinja2; `make test` installs it: missing is a failure, not a skip)
import jinja2.sandbox  # noqa: E402  (HF renders in the immutable sandbox)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEMPLATES = os.path.join(REPO, "tests", "data", "chat_templates")

# file -> (family, bos text, eos text): the tokens of the model the template comes from
FILES = {
    "Qwen1.5-Chat.jinja": ("chatml", "<|endoftext|>", "<|im_end|>"),
    "SmolLM2-360M-Instruct.jinja": ("smollm", "<|im_start|>", "<|im_end|>"),
    "Qwen2.5-7B-Instruct.jinja": ("qwen2.5", "", "<|im_end|>"),
    "Mistral-7B-Instruct-v0.2-old.jinja": ("llama2", "<s>", "</s>"),
    "Mistral-7B-Instruct-v0.1.jinja": ("mistral-v0.1", "<s>", "</s>"),
    "Llama-2-7b-chat-hf.jinja": ("llama2-sys", "<s>", "</s>"),
    "Mistral-7B-Instruct-v0.2-v1.jinja": ("mistral-v1", "<s>", "</s>"),
    "Meta-Llama-3-8B-Instruct.jinja": ("llama3", "<|begin_of_text|>", "<|eot_id|>"),
    "gemma-2-2b-it.jinja": ("gemma", "<bos>", "<eos>"),
    "Phi-3.5-mini-instruct.jinja": ("phi3", "<s>", "<|endoftext|>"),
    "zephyr-7b-beta.jinja": ("zephyr", "<s>", "</s>"),
    "deepseek-coder-33b-instruct.jinja": ("deepseek", "<｜begin▁of▁sentence｜>", "<|EOT|>"),
    "DeepSeek-V2-Lite-Chat.jinja": ("deepseek2", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
}

S = ("system", "You are a terse assistant.\nAnswer in one line.")
U1 = ("user", "Hello! What is 2+2?")
A1 = ("assistant", "  It is 4.  \n")          # surrounding spaces: the templates that trim show it
U2 = ("user", "\tAnd 3+3?  ")
A2 = ("assistant", "6")
U3 = ("user", "Thanks — ça va? ✓")
CONVERSATIONS = {
    "user": [U1],
    "two_turns": [U1, A1, U2],
    "three_turns_closed": [U1, A1, U2, A2, U3, ("assistant", "De rien.")],
    "system_user": [S, U1],
    "system_three_turns": [S, U1, A1, U2, A2, U3],
    "empty_system": [("system", ""), U1, A1, U2],
    "system_then_empty_user": [S, ("user", "  "), A2, U2],
    "not_alternating": [U1, U2],
    "assistant_first": [A1, U1],
    "late_system": [U1, A1, S, U2],
}


class _Msg(ctypes.Structure):
    _fields_ = [("role", ctypes.c_char_p), ("content", ctypes.c_char_p)]


@pytest.fixture(scope="module")
def lib():
    path = os.path.join(REPO, "build", "libckernel.so")
    if not os.path.exists(path):
        pytest.fail("build/libckernel.so not found: run `make build/libckernel.so`", pytrace=False)
    L = ctypes.CDLL(path)
    L.ck_chat_detect.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    L.ck_chat_from_name.argtypes = [ctypes.c_char_p]
    L.ck_chat_name.restype = ctypes.c_char_p
    L.ck_chat_names.restype = ctypes.c_char_p
    L.ck_chat_render.restype = ctypes.c_int64
    L.ck_chat_render.argtypes = [ctypes.c_int, ctypes.POINTER(_Msg), ctypes.c_int, ctypes.c_int, ctypes.c_char_p,
                                 ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_char_p)]
    return L


def jinja_render(text, messages, add_gen, bos, eos):
    """HF transformers' apply_chat_template rendering (its _compile_jinja_template environment)"""
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    t = env.from_string(text)
    return t.render(messages=[{"role": r, "content": c} for r, c in messages], add_generation_prompt=add_gen,
                    bos_token=bos, eos_token=eos)


def ck_render(L, family, messages, add_gen, bos, eos):
    fam = L.ck_chat_from_name(family.encode())
    assert fam > 0, family
    arr = (_Msg * len(messages))(*[_Msg(r.encode(), c.encode()) for r, c in messages])
    why = ctypes.c_char_p()
    n = L.ck_chat_render(fam, arr, len(messages), add_gen, bos.encode(), eos.encode(), None, 0, ctypes.byref(why))
    if n < 0:
        return None, why.value.decode()
    buf = ctypes.create_string_buffer(n + 1)
    m = L.ck_chat_render(fam, arr, len(messages), add_gen, bos.encode(), eos.encode(), buf, n + 1, None)
    assert m == n
    small = ctypes.create_string_buffer(8)   # a short buffer: the same length, a NUL-terminated prefix
    assert L.ck_chat_render(fam, arr, len(messages), add_gen, bos.encode(), eos.encode(), small, 8, None) == n
    assert small.raw[:min(n, 7)] == buf.raw[:min(n, 7)] and small.raw[min(n, 7)] == 0
    return buf.raw[:n].decode(), None


def read(name):
    with open(os.path.join(TEMPLATES, name), encoding="utf-8") as f:
        return f.read()


@pytest.mark.parametrize("name", sorted(FILES))
@pytest.mark.parametrize("conv", sorted(CONVERSATIONS))
@pytest.mark.parametrize("add_gen", [0, 1])
def test_render_matches_jinja2(lib, name, conv, add_gen):
    family, bos, eos = FILES[name]
    messages = CONVERSATIONS[conv]
    try:
        want, raised = jinja_render(read(name), messages, bool(add_gen), bos, eos), None
    except jinja2.exceptions.TemplateError as e:
        want, raised = None, str(e)
    got, why = ck_render(lib, family, messages, add_gen, bos, eos)
    if raised is not None:
        assert got is None, f"{family}: the template raises '{raised}', ckernel rendered {got!r}"
        assert why == raised
    else:
        assert why is None, f"{family}: ckernel refused ({why}), the template renders {want!r}"
        assert got == want


@pytest.mark.parametrize("name", sorted(FILES))
def test_detect_real_templates(lib, name):
    text = read(name).encode()
    got = lib.ck_chat_detect(text, len(text))
    assert lib.ck_chat_name(got).decode() == FILES[name][0]


@pytest.mark.parametrize("text", ["{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}", "",
                                  "<|im_start|>{{ x }}<|im_sep|>"])
def test_detect_refuses_made_up(lib, text):
    b = text.encode()
    assert lib.ck_chat_detect(b, len(b)) == 0
    assert lib.ck_chat_name(0) == b"unknown"


def test_names_round_trip(lib):
    names = lib.ck_chat_names().decode().split(", ")
    assert sorted(names) == sorted({f for f, _, _ in FILES.values()})
    for n in names:
        assert lib.ck_chat_name(lib.ck_chat_from_name(n.encode())).decode() == n
    assert lib.ck_chat_from_name(b"jinja") == 0


# ---- ck chat through a pipe -------------------------------------------------------------------
# A tiny byte-level Llama (ckgen --init, as tests/make_hostile.py makes one) with a ChatML template
# (Qwen1.5's) added as tokenizer.chat_template (the rewrite of tests/test_models.py::_rewrite).
import re          # noqa: E402
import subprocess  # noqa: E402
import sys         # noqa: E402
import json        # noqa: E402

CK = os.path.join(REPO, "build", "ck")
PREFILL = re.compile(r"\[prefill (\d+) tokens at position (\d+):([ \d]*)\]")
TURN = re.compile(r"\[turn (\d+): prefill (\d+) new tokens \((\d+) kept in the cache\).*answer (\d+) tokens.*context (\d+)/(\d+)\]")


@pytest.fixture(scope="module")
def chat_model(tmp_path_factory):
    if not os.path.exists(CK) or not os.path.exists(os.path.join(REPO, "build", "ckgen")):
        pytest.fail("build/ck, build/ckgen not found: run `make tools`", pytrace=False)
    sys.path.insert(0, REPO)
    from oracle import gguf as G
    d = tmp_path_factory.mktemp("chat")
    cfg, base, path = str(d / "config.json"), str(d / "base.gguf"), str(d / "chatml.gguf")
    with open(cfg, "w") as f:
        json.dump({"architecture": "llama", "n_embd": 16, "n_layer": 1, "n_ff": 32, "n_head": 2, "n_head_kv": 1,
                   "n_ctx": 160, "tokenizer": "bytes", "seed": 7}, f)
    subprocess.run([os.path.join(REPO, "build", "ckgen"), "--init", cfg, base], check=True, capture_output=True)
    g = G.read(base)
    keys = g.kv.copy()
    keys["tokenizer.chat_template"] = G.value(read("Qwen1.5-Chat.jinja"))
    G.write(path, keys, [(t.name.decode(), t.ne, t.type, bytes(t.data)) for t in g.tensors], version=g.version,
            alignment=g.alignment)
    return path, base


def chat(model, lines, *opts, cflags=None):
    env = dict(os.environ, CK_CFLAGS=cflags, ASAN_OPTIONS="detect_leaks=0") if cflags else None
    r = subprocess.run(["nice", "-n", "10", CK, "chat", model, *opts], input="".join(l + "\n" for l in lines).encode(),
                       capture_output=True, timeout=600, env=env)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def tokenize(model, text):
    r = subprocess.run([CK, "tokenize", model, "--special", text], capture_output=True, check=True)
    return [int(x) for x in r.stdout.split()]


def chatml(messages, gen):
    return jinja_render(read("Qwen1.5-Chat.jinja"), messages, gen, "", "")


def test_ck_chat_prefills_only_the_new_turn(chat_model):
    model, _ = chat_model
    rc, out, err = chat(model, ["hi", "ok", "/reset", "hi", "/exit", "never read"], "-n", "5", "--temp", "0", "--verbose")
    assert rc == 0, err
    prefills = [(int(n), int(p), [int(x) for x in ids.split()]) for n, p, ids in PREFILL.findall(err)]
    turns = [tuple(int(x) for x in t) for t in TURN.findall(err)]
    assert len(prefills) == 3 and len(turns) == 3, err
    first = tokenize(model, chatml([("user", "hi")], True))
    # turn 1: the whole rendering from position 0
    assert prefills[0] == (len(first), 0, first)
    # turn 2: only what the template writes after the answer (the answer's tokens are in the cache)
    new = chatml([("user", "hi"), ("assistant", ""), ("user", "ok")], True)[len(chatml([("user", "hi")], True)):]
    assert new.startswith("<|im_end|>\n<|im_start|>user\nok")
    ids = tokenize(model, new)
    answer1 = turns[0][3]
    assert prefills[1] == (len(ids), len(first) + answer1, ids), (prefills[1], answer1)
    assert turns[1][1:3] == (len(ids), len(first) + answer1)
    # /reset: the conversation starts again at position 0, with the same tokens as turn 1
    assert "[conversation reset]" in out
    assert prefills[2] == prefills[0]
    assert turns[2][2] == 0
    assert "never read" not in err   # /exit stopped reading


def test_ck_chat_context_full(chat_model):
    model, _ = chat_model
    # a turn longer than the context: refused with the message, the next turn still runs
    rc, out, err = chat(model, ["x" * 400, "hi"], "-n", "3", "--temp", "0", "--verbose")
    assert rc == 0, err
    assert "[context full: this turn needs" in out
    assert len(TURN.findall(err)) == 1
    # an answer that fills the context (no -n; greedy, this model never says its eos): the turn ends with the message
    rc, out, err = chat(model, ["hi", "again"], "--temp", "0")
    assert rc == 0, err
    assert "[context full: the answer stops at" in out, out
    t = TURN.findall(err)[0]
    assert t[4] == t[5] == "160"
    assert "[context full: this turn needs" in out   # the next turn has no room left


def test_ck_chat_template_choice(chat_model):
    model, base = chat_model
    rc, _, err = chat(model, ["hi"], "--chat-template", "jinja")
    assert rc == 2 and "--chat-template jinja: not a template ckernel knows (chatml, qwen2.5," in err
    rc, _, err = chat(base, ["hi"])
    assert rc == 2 and "no tokenizer.chat_template: give --chat-template NAME (chatml," in err
    rc, out, err = chat(base, ["hi"], "--chat-template", "llama3", "-n", "2", "--temp", "0", "--verbose")
    assert rc == 0 and "template llama3" in err
    n, p, ids = PREFILL.findall(err)[0]
    assert [int(x) for x in ids.split()] == tokenize(base, "<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>"
                                                           "<|start_header_id|>assistant<|end_header_id|>\n\n")


@pytest.fixture(scope="module")
def llama3_model(chat_model, tmp_path_factory):
    """the toy model with four byte tokens (unused by the turns) made Llama 3's control tokens,
    BOS <|begin_of_text|> that the tokenizer would add (add_bos_token), EOS <|eot_id|>, and
    Meta-Llama-3-8B-Instruct's template"""
    from oracle import gguf as G
    _, base = chat_model
    g = G.read(base)
    keys = g.kv.copy()
    tokens = list(keys["tokenizer.ggml.tokens"].value)
    types = list(keys["tokenizer.ggml.token_type"].value)
    for i, t in zip(range(250, 254), ["<|begin_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>"]):
        tokens[i], types[i] = t.encode(), 3
    keys["tokenizer.ggml.tokens"] = G.value(tokens, arr_type=G.STR)
    keys["tokenizer.ggml.token_type"] = G.value(types, arr_type=keys["tokenizer.ggml.token_type"].arr_type)
    keys["tokenizer.ggml.bos_token_id"] = G.value(250, vtype=G.U32)
    keys["tokenizer.ggml.eos_token_id"] = G.value(251, vtype=G.U32)
    keys["tokenizer.ggml.add_bos_token"] = G.value(True)
    keys["tokenizer.chat_template"] = G.value(read("Meta-Llama-3-8B-Instruct.jinja"))
    path = str(tmp_path_factory.mktemp("chat3") / "llama3.gguf")
    G.write(path, keys, [(t.name.decode(), t.ne, t.type, bytes(t.data)) for t in g.tensors], version=g.version,
            alignment=g.alignment)
    return path


def test_ck_chat_bos_once(llama3_model):
    """Llama 3's template writes <|begin_of_text|>: the turn holds that BOS once (the tokenizer adds none)"""
    rc, out, err = chat(llama3_model, ["hi", "ok"], "-n", "4", "--temp", "0", "--verbose", "-sys", "Be brief.")
    assert rc == 0, err
    assert "template llama3" in err and "stop tokens: 251" in err
    prefills = [[int(x) for x in ids.split()] for _, _, ids in PREFILL.findall(err)]
    want = tokenize(llama3_model, jinja_render(read("Meta-Llama-3-8B-Instruct.jinja"),
                                               [("system", "Be brief."), ("user", "hi")], True, "<|begin_of_text|>",
                                               "<|eot_id|>"))
    assert prefills[0] == want and want[:2] == [250, 252] and want.count(250) == 1
    assert 250 not in prefills[1] and prefills[1].count(252) == 2   # the user's and the assistant's headers


def test_ck_chat_under_sanitizers(chat_model, llama3_model):
    """the chat program built under ASan+UBSan with arena canaries: turns, /reset, a turn that does
    not fit, an answer that fills the context; no report, no overwritten canary"""
    checked = "-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -DCK_CANARIES"
    model, _ = chat_model
    rc, out, err = chat(model, ["hi", "ok", "/reset", "x" * 400, "hi", "again"], "--temp", "0.9", "--seed", "3",
                        cflags=checked)
    assert rc == 0, err
    assert "runtime error" not in err and "AddressSanitizer" not in err
    assert "[context full: this turn needs" in out
    rc, out, err = chat(llama3_model, ["hi", "ok"], "-n", "8", "-sys", "  ", cflags=checked)
    assert rc == 0 and "runtime error" not in err and "AddressSanitizer" not in err, err
