"""Writes sentencepiece_reference.json: what Google's sentencepiece library (Debian python3-sentencepiece)
gives for the fixtures' tokenizer models on texts that exercise byte fallback, CJK, emoji and whitespace.

Run from the repository root: /usr/bin/python3 models/src/test/resources/io/mmstream/model/tokenizer/make_reference.py
"""
import json
import os
import sentencepiece as spm

MODELS = {
    "llava": "fixtures/llava/llava-tiny/tokenizer.model",
    "minigpt4": "fixtures/minigpt4/minigpt4-tiny/vicuna/tokenizer.model",
    "visualglm": "fixtures/visualglm/visualglm-tiny/ice_text.model",
    # nmt_nfkc charsmap + remove_extra_whitespaces (sentencepiece's defaults); made by make_nfkc_model.py
    "nfkc": "models/src/test/resources/io/mmstream/model/tokenizer/nfkc_unigram.model",
}
TEXTS = [
    "What is shown in this image?",
    "描述这张图片。",
    "图片里有一只猫 🐱 和一条狗 🐶！",
    "emoji 😀👍🏽 and naïve café ©",
    "  leading and   inner  spaces ",
    "tab\tand\nnewline",
    "日本語のテキスト、한국어 텍스트",
    "###Human: <Img>x</Img>###",
    "Ｆｕｌｌ ｗｉｄｔｈ ①② ﬁne   spaced\u3000out  ",
    "",
]
out = {"sentencepiece_version": spm.__version__, "models": {}}
for name, path in MODELS.items():
    sp = spm.SentencePieceProcessor(model_file=path)
    cases = []
    for text in TEXTS:
        ids = sp.encode(text)
        cases.append({"text": text, "ids": ids, "pieces": sp.id_to_piece(ids), "decoded": sp.decode(ids)})
    out["models"][name] = {"file": path, "cases": cases}
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "sentencepiece_reference.json"), "w", encoding="utf-8") as f:
    json.dump(out, f, ensure_ascii=False, indent=1)
