"""The small causal transformer baseline (`companion.science.tiny_lm`): causal, trainable, evaluable, samplable."""

import numpy as np
import pytest
import torch

from companion.science.next_word import sample_texts, score
from companion.science.stories import corpus, grammatical_share
from companion.science.tiny_lm import CausalLM, hidden_states, lm_next_word, train_lm
from companion.science.tree_lm import Vocabulary


def test_outputs_at_a_position_do_not_depend_on_later_tokens():
    torch.manual_seed(0)
    model = CausalLM(vocabulary=10, context=8, dim=16, depth=1, heads=2).eval()
    a = torch.tensor([[1, 2, 3, 4, 5]])
    b = torch.tensor([[1, 2, 3, 9, 9]])
    assert torch.allclose(model(a)[0, :3], model(b)[0, :3], atol=1e-6)
    assert not torch.allclose(model(a)[0, 3:], model(b)[0, 3:], atol=1e-3)
    with pytest.raises(ValueError, match="context"):
        model(torch.zeros(1, 9, dtype=torch.long))


def test_a_briefly_trained_model_beats_the_unigram_rate_and_writes_mostly_grammatical_text():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    stories = corpus(300, seed=0)
    vocab = Vocabulary.of(stories)
    seqs = [vocab.ids(s) for s in stories]
    model = CausalLM(len(vocab.words), context=16, dim=32, depth=2, heads=4)
    losses = train_lm(model, seqs[:250], steps=150, batch_size=32, seed=0)
    assert losses[-10:].mean() < losses[:10].mean() / 2
    accuracy, perplexity = score(lm_next_word(model), seqs[250:], context=16, mix=0.0)
    counts = np.bincount(np.concatenate(seqs[:250]), minlength=len(vocab.words))
    unigram = counts / counts.sum()
    assert perplexity < np.exp(-(unigram * np.log(np.maximum(unigram, 1e-12))).sum())
    assert accuracy > counts.max() / counts.sum()
    texts = sample_texts(lm_next_word(model), vocab.ids(["once"]), 20, 60, 16, np.random.default_rng(0))
    assert np.mean([grammatical_share(vocab.text(t)) for t in texts]) > 0.5


def test_next_word_and_hidden_states_read_each_context_without_its_padding():
    torch.manual_seed(0)
    model = CausalLM(vocabulary=7, context=4, dim=16, depth=1, heads=2)
    contexts = np.array([[-1, -1, 3, 4], [1, 2, 3, 4], [6, 1, 2, 3]])
    probs = lm_next_word(model)(contexts)
    states = hidden_states(model, contexts)
    assert probs.shape == (3, 7) and states.shape == (3, 16) and model.training
    with torch.no_grad():
        model.eval()
        for row, context in enumerate([[3, 4], [1, 2, 3, 4], [6, 1, 2, 3]]):
            logits = model(torch.tensor([context]))[0, -1]
            assert np.allclose(probs[row], torch.softmax(logits, -1).numpy(), atol=1e-6)
            assert np.allclose(states[row], model.hidden(torch.tensor([context]))[0, -1].numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="prompt"):
        hidden_states(model, np.array([[-1, -1, -1, -1]]))
