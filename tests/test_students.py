"""Student builder: weights really inherited, trimmed tokenization unchanged, sizes as promised."""
import pytest
import torch

from tests.tiny import tiny_bert, tiny_unigram
from training.students import RECIPES, StudentRecipe, build_student, kept_layer_indices, trim_tokenizer
from zoo.text_tower import HFTextTower

TEXTS = ["a cat on a mat", "the dog and the cat", "la casa de mi padre", "un chat et un chien"]


@pytest.fixture(scope="module")
def teacher():
    torch.manual_seed(0)
    return HFTextTower(tiny_bert(layers=4), tiny_unigram(), prefix="query: ", max_length=24,
                       projection=torch.nn.Linear(32, 16))


def test_layer_choice():
    assert kept_layer_indices(12, RECIPES["half"]) == [0, 1, 2, 3, 4, 5]
    assert kept_layer_indices(12, StudentRecipe()) == [1, 3, 5, 7, 9, 11]
    assert kept_layer_indices(12, StudentRecipe(layer_pick="top")) == [6, 7, 8, 9, 10, 11]
    assert kept_layer_indices(12, StudentRecipe(layers=3, layer_pick="bottom")) == [0, 1, 2]
    with pytest.raises(ValueError, match="unknown layer_pick 'middle'"):
        kept_layer_indices(12, StudentRecipe(layer_pick="middle"))
    assert kept_layer_indices(12, RECIPES["quarter"]) == [3, 7, 11]
    assert kept_layer_indices(4, StudentRecipe(keep_layers=(0, 3))) == [0, 3]
    with pytest.raises(ValueError, match="do not exist"):
        kept_layer_indices(4, StudentRecipe(keep_layers=(9,)))


def test_half_student_is_the_teacher_with_every_other_layer(teacher):
    student, report = build_student(teacher, StudentRecipe("half", vocab_words=0, max_text_fraction=1.0), TEXTS)
    assert report["layers_kept"] == [1, 3]
    ids_s = student.tokenize(TEXTS)
    ids_t = teacher.tokenize(TEXTS)
    # the same pieces, renumbered into the trimmed vocabulary
    for a, b in zip(ids_s["input_ids"], ids_t["input_ids"]):
        assert [student.tokenizer.id_to_token(int(i)) for i in a] == [teacher.tokenizer.id_to_token(int(i)) for i in b]
    # a forward through the student == embeddings + teacher layers 1 and 3, applied by hand
    bt = teacher.backbone
    with torch.no_grad():
        mask = ids_t["attention_mask"]
        ext = bt.get_extended_attention_mask(mask, mask.shape)
        h = bt.embeddings(input_ids=ids_t["input_ids"])
        for i in (1, 3):
            h = bt.encoder.layer[i](h, attention_mask=ext)[0]
        manual = teacher.projection(teacher.pool(h, mask))
        ours = student(**ids_s)
    torch.testing.assert_close(ours, manual, atol=1e-5, rtol=1e-5)


def test_trimmed_tokenizer_gives_the_same_pieces_and_drops_the_rest(teacher):
    tok = teacher.tokenizer
    keep = {i for e in tok.encode_batch(TEXTS) for i in e.ids}
    trimmed, kept = trim_tokenizer(tok, keep)
    assert trimmed.get_vocab_size() == len(kept) < tok.get_vocab_size()
    for text in TEXTS:
        assert trimmed.encode(text).tokens == tok.encode(text).tokens
    assert trimmed.token_to_id("<unk>") is not None and trimmed.encode("a").ids[0] == trimmed.token_to_id("<s>")


def test_narrow_student_gets_a_projection_to_the_teacher_space(teacher):
    student, report = build_student(teacher, StudentRecipe("custom", layers=1, width=8, vocab_words=0,
                                                           max_text_fraction=1.0), TEXTS)
    assert report["width"] == 8 and student.backbone.config.hidden_size == 8
    assert student.output_dim == teacher.output_dim == 16  # 8-d student, projected into the 16-d teacher space
    assert student.projection.in_features == 8 and student(**student.tokenize(["x"])).shape == (1, 16)


def test_recipe_over_its_size_limit_is_refused(teacher):
    with pytest.raises(ValueError, match="over its limit of 10%"):
        build_student(teacher, StudentRecipe("half", vocab_words=0, max_text_fraction=0.1), TEXTS)


def test_real_half_student_is_at_most_half_the_teacher(small_corpus):
    from corpus.corpus import load_corpus
    from training.selection import training_texts, training_view
    from training.students import vocabulary_texts
    from zoo.sources.packaged import e5_small_text_tower

    e5 = e5_small_text_tower(projection=torch.nn.Linear(384, 256))
    records = training_view(load_corpus(small_corpus))  # what distillation sees: no held-out language
    train = training_texts(records)
    texts = vocabulary_texts({r.language for r in records if r.split == "train"}, RECIPES["half"].vocab_words, train)
    student, report = build_student(e5, RECIPES["half"], texts)
    counted = student.num_parameters() / e5.num_parameters()
    assert report["text_fraction"] == counted and 0.49 < counted <= 0.5 and report["layers_kept"] == [0, 1, 2, 3, 4, 5]
    captions = train[::7]  # training text: the same pieces as the teacher
    ours = [student.tokenizer.id_to_token(int(i)) for i in student.tokenize(captions)["input_ids"].flatten()]
    theirs = [e5.tokenizer.id_to_token(int(i)) for i in e5.tokenize(captions)["input_ids"].flatten()]
    assert ours == theirs  # prefix included: "query: " survives trimming
    # held-out languages never reached the vocabulary's text, yet every piece of the teacher is
    # kept (the rarer ones as a rank-96 tail), so their words are cut exactly as the teacher cuts them
    assert report["vocab_kept"] == e5.tokenizer.get_vocab_size() and report["tail_rank"] == 96
    assert 80_000 < report["full_rows"] < 85_000
    for word in ("แมว", "ድመት", "კატა", "ឆ្មា", "పిల్లి", "කැට", "paka", "kyanwa"):
        assert student.tokenizer.encode(word).tokens == e5.tokenizer.encode(word).tokens, word


def test_choose_pieces_by_hand():
    from collections import Counter

    from training.students import choose_pieces

    counts = Counter({10: 5, 11: 9, 12: 1})
    fill = [(0, 20), (0, 11), (1, 21), (1, 22)]  # (rank within script, id)
    # always-kept first, then used pieces by frequency (11 before 10), then the fill order
    assert choose_pieces(counts, fill, budget=6, always={0, 1}) == [0, 1, 11, 10, 12, 20]
    assert choose_pieces(counts, [], budget=3, always={0}) == [0, 11, 10]  # over budget: rarest used pieces go
    # a floor of 1 keeps every script's best piece ahead of the used ones
    assert choose_pieces(counts, fill, budget=5, always={0}, floor=1) == [0, 20, 11, 10, 12]


def test_script_fill_gives_every_script_its_best_pieces_first():
    from training.students import piece_script, script_fill_order

    tok = tiny_unigram()
    order = [i for _, i in script_fill_order(tok)]
    assert sorted(order) == list(range(tok.get_vocab_size()))
    scripts = [piece_script(tok.id_to_token(i)) for i in order]
    assert {"LATIN", "CYRILLIC", "CJK"} <= set(scripts)
    n_scripts = len(set(scripts))
    assert len(set(scripts[:n_scripts])) == n_scripts  # one piece of each script before any second one
    assert piece_script("\u2581แมว") == "THAI" and piece_script("\u25812024") == "Common"


def test_script_fill_spends_the_budget_and_keeps_unseen_scripts(teacher):
    from training.students import vocabulary_budget

    plain, plain_report = build_student(teacher, StudentRecipe("half", vocab_words=0, max_text_fraction=0.5), TEXTS)
    filled, report = build_student(teacher, StudentRecipe("half", vocab_words=0, max_text_fraction=0.5,
                                                          vocab_fill="script", script_floor=0), TEXTS)
    budget = vocabulary_budget(teacher, report["layers_kept"], 0.5, 16)
    assert report["vocab_kept"] == budget > plain_report["vocab_kept"]
    assert 0.5 - 32 / teacher.num_parameters() < report["text_fraction"] <= 0.5  # within one row of the limit
    for text in TEXTS:  # the training text still tokenizes exactly as the teacher does
        assert filled.tokenizer.encode(text).tokens == teacher.tokenizer.encode(text).tokens
    cyrillic = "кошка"  # never in TEXTS: the plain trim has no piece for it, the filled one does
    unk = {t.token_to_id("<unk>") for t in (plain.tokenizer, filled.tokenizer)}
    assert set(plain.tokenizer.encode(cyrillic).ids) & unk
    assert not set(filled.tokenizer.encode(cyrillic).ids) & unk
    assert report["vocab_scripts"].get("CYRILLIC", 0) > plain_report["vocab_scripts"].get("CYRILLIC", 0)
    with pytest.raises(ValueError, match="unknown vocab_fill 'words'"):
        build_student(teacher, StudentRecipe("half", vocab_fill="words"), TEXTS)
