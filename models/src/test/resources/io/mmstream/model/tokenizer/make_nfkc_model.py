"""Trains nfkc_unigram.model: a tiny unigram sentencepiece model with sentencepiece's defaults
(nmt_nfkc precompiled character map, remove_extra_whitespaces, add_dummy_prefix), so the Java reader's
charsmap and whitespace handling are checked against the library. Then make_reference.py adds it.

Run from this folder: /usr/bin/python3 make_nfkc_model.py
"""
import io
import sentencepiece as spm

corpus = "\n".join([
    "The quick brown fox jumps over the lazy dog.",
    "Ｆｕｌｌ ｗｉｄｔｈ ｔｅｘｔ and ①②③ circled digits, ﬁ ligatures.",
    "描述这张图片。这是一只猫。图片里有一条狗。",
    "Describe this image in detail, please.",
] * 20)
model = io.BytesIO()
spm.SentencePieceTrainer.train(sentence_iterator=iter(corpus.split("\n")), model_writer=model,
                               vocab_size=60, model_type="unigram", character_coverage=1.0)
with open("nfkc_unigram.model", "wb") as f:
    f.write(model.getvalue())
