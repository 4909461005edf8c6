"""Texts that exercise the fast features' corners, shared by the featurizer and scorer tests: a
small training set for a vocabulary, and messages with a word and bigram twice, grams shared
between words, a curly apostrophe, nothing in the vocabulary, punctuation only, upper-case symbols
that are not letters, an empty text."""

TRAIN = [
    "Where is my order? I want my refund now!!",
    "where is my refund, I want it now",
    "Thank you so much, the order arrived",
    "This is the third time I ask: where is my order?",
    "Mein Paket ist nicht angekommen, wo ist es?",
    "I CAN'T LOG IN!!! help me please",
]
TEXTS = [
    "where is my order where is my order",  # every word and bigram twice
    "the other thing there",  # character grams shared between words
    "Where is my refund?! I can’t log in",  # curly apostrophe, punctuation runs
    "zzzz qqqq xxxx",  # nothing in the vocabulary but the dense cues
    "!!! ???",
    "Ⓐ Ⅻ MEIN PAKET ÄRGER",  # upper-case symbols that are not letters
    "",
    "ok",
]
