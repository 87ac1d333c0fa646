"""A synthetic, labelled corpus of short film reviews in which word order matters.

Introduced in chapter 4. The reviews are generated from templates with a seeded random
generator; they are **synthetic** and say so wherever they are used. They are built so that a
model which only counts words (a bag of words or a mean of embeddings) cannot solve them:

- ``"plain"``     the adjective decides: "the acting was really good" -> positive.
- ``"negated"``   a negation, usually several words before the adjective, flips it: "i would
                  not say that the plot of this film was at all good" -> negative. Every
                  negated frame has an affirmative twin among the plain reviews ("i would say
                  that ..."), so the frame's words alone do not give the label away.
- ``"contrast"``  two clauses of opposite polarity joined by "but": the clause after "but"
                  decides ("the music was dull but the acting was superb" -> positive).

A negated or contrasted review contains a positive and a negative cue in every label, so its
label depends on *where* the words are, not on *which* words occur. Some reviews end with a
neutral sentence ("we saw it last week .") after the deciding words, so a left-to-right model
must also carry its decision to the end.

Like a real data set read from a CSV file, a few rows can have a missing text (``float("nan")``,
what pandas puts in an empty cell); tokenising one of those fails with "'float' object has no
attribute 'lower'", so such rows must be dropped first (:func:`drop_missing`).
"""
from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

KINDS = ("plain", "negated", "contrast")

POSITIVE = ("good", "great", "excellent", "wonderful", "brilliant", "enjoyable", "superb",
            "charming", "clever", "moving")
NEGATIVE = ("bad", "awful", "terrible", "boring", "dull", "weak", "poor", "clumsy", "tedious",
            "dreadful")
# A fixed split of the sentiment adjectives into two halves of five (chapter 5's held-out-word
# experiment): a classifier is trained on reviews that use only the SEEN words and tested on
# reviews that use only the HELDOUT words.
SEEN_POSITIVE = ("good", "excellent", "brilliant", "superb", "clever")
HELDOUT_POSITIVE = ("great", "wonderful", "enjoyable", "charming", "moving")
SEEN_NEGATIVE = ("bad", "terrible", "dull", "poor", "tedious")
HELDOUT_NEGATIVE = ("awful", "boring", "weak", "clumsy", "dreadful")
ADJECTIVE_SETS = {
    "all": (POSITIVE, NEGATIVE),
    "seen": (SEEN_POSITIVE, SEEN_NEGATIVE),
    "heldout": (HELDOUT_POSITIVE, HELDOUT_NEGATIVE),
}
ASPECTS = ("acting", "plot", "story", "script", "music", "dialogue", "ending", "cast", "pacing",
           "direction", "soundtrack", "camera work")
FILMS = ("film", "movie", "picture", "sequel", "show")
INTENSIFIERS = ("", "", "really", "very", "quite", "truly", "rather", "pretty")
OPENERS = ("", "", "", "honestly ,", "overall ,", "in short ,", "to be honest ,", "for me ,",
           "well ,", "all in all ,")
# Words that sit between a negation and its adjective (the distance a model must bridge). The
# first ones only make sense under a negation ("not at all good"), the others in both frames.
NEGATIVE_FILLERS = ("at all", "in any way", "for a single minute")
FILLERS = ("", "", ", if you ask me ,", ", as far as i can tell ,", ", even for a {film} like this ,",
           ", compared with the trailer ,", ", to my surprise ,")
NEUTRAL = ("we saw it last week .", "i watched it on a sunday with friends .",
           "it runs for about two hours .", "my sister picked this {film} .",
           "i had read the book first .", "the cinema was almost empty .",
           "it is on television tonight .")

# (negated, affirmative twin): "{a}" is the aspect, "{f}" the film word, "{x}" the filler + adjective.
_TWIN_TEMPLATES = (
    ("i would not say that the {a} of this {f} was {x}", "i would say that the {a} of this {f} was {x}"),
    ("the {a} was not {x}", "the {a} was {x}"),
    ("nobody could claim that the {a} was {x}", "everybody could see that the {a} was {x}"),
    ("it is not true that the {a} in this {f} is {x}", "it is true that the {a} in this {f} is {x}"),
    ("i did not find the {a} {x}", "i did find the {a} {x}"),
    ("i would never call the {a} of this {f} {x}", "i would always call the {a} of this {f} {x}"),
)
# Simple clauses for plain reviews and for the two halves of a contrast.
_CLAUSES = (
    "the {a} was {x}",
    "the {a} of this {f} is {x}",
    "i found the {a} {x}",
    "this {f} has a {x} {a}",
    "what a {x} {f}",
)


@dataclass(frozen=True)
class Review:
    """One labelled review. ``text`` is ``float("nan")`` when the text is missing."""

    text: str | float
    label: int   # 1 positive, 0 negative
    kind: str    # "plain", "negated" or "contrast"


def is_missing(text: object) -> bool:
    """True for a missing text: ``None`` or a float NaN (pandas' empty cell)."""
    return text is None or (isinstance(text, float) and math.isnan(text))


def drop_missing(reviews: Sequence[Review]) -> list[Review]:
    """The reviews whose text is present (a string); the others cannot be tokenised."""
    return [r for r in reviews if not is_missing(r.text)]


def _squash(text: str) -> str:
    return " ".join(text.split())


def _adjective(rng: random.Random, positive: bool, filler: str = "",
               pools: tuple[Sequence[str], Sequence[str]] = (POSITIVE, NEGATIVE)) -> str:
    word = rng.choice(pools[0] if positive else pools[1])
    return _squash(f"{filler} {rng.choice(INTENSIFIERS)} {word}")


def _filler(rng: random.Random, negated: bool) -> str:
    pool = FILLERS + NEGATIVE_FILLERS if negated else FILLERS
    return rng.choice(pool).format(film=rng.choice(FILMS))


def _clause(rng: random.Random, positive: bool, aspect: str,
            pools: tuple[Sequence[str], Sequence[str]] = (POSITIVE, NEGATIVE)) -> str:
    template = rng.choice(_CLAUSES)
    adjective = _adjective(rng, positive, pools=pools)
    if template.startswith("this") or template.startswith("what"):   # "a" before a consonant
        template = template.replace("a {x}", "an {x}") if adjective[0] in "aeiou" else template
    return template.format(a=aspect, f=rng.choice(FILMS), x=adjective)


def _review(rng: random.Random, kind: str, label: int, tail: float,
            pools: tuple[Sequence[str], Sequence[str]] = (POSITIVE, NEGATIVE)) -> str:
    aspect, other = rng.sample(ASPECTS, 2)
    if kind == "plain":
        if rng.random() < 0.5:   # an affirmative twin: the same frame as a negated review
            template = rng.choice(_TWIN_TEMPLATES)[1]
            body = template.format(a=aspect, f=rng.choice(FILMS),
                                   x=_adjective(rng, bool(label), _filler(rng, negated=False), pools))
        else:
            body = _clause(rng, bool(label), aspect, pools)
    elif kind == "negated":      # the adjective has the opposite polarity of the label
        template = rng.choice(_TWIN_TEMPLATES)[0]
        body = template.format(a=aspect, f=rng.choice(FILMS),
                               x=_adjective(rng, not label, _filler(rng, negated=True), pools))
    elif kind == "contrast":     # the clause after "but" decides
        body = f"{_clause(rng, not label, other, pools)} but {_clause(rng, bool(label), aspect, pools)}"
    else:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    text = f"{rng.choice(OPENERS)} {body} ."
    if rng.random() < tail:
        text += " " + rng.choice(NEUTRAL).format(film=rng.choice(FILMS))
    return _squash(text.replace(", ,", ","))


def make_reviews(
    n: int,
    seed: int = 0,
    kinds: Sequence[str] = KINDS,
    weights: Sequence[float] | None = None,
    tail: float = 0.3,
    missing: float = 0.0,
    adjectives: str = "all",
) -> list[Review]:
    """``n`` synthetic reviews (balanced labels in expectation), reproducible from ``seed``.

    - ``kinds`` / ``weights``: which kinds of review to draw, and how often. By default 50% plain,
      25% negated, 25% contrast; with other ``kinds`` and no ``weights``, equally often.
    - ``tail``: probability that a neutral sentence follows the deciding sentence.
    - ``missing``: probability that a row's text is missing (``float("nan")``); its label is kept,
      as in a real file with an empty review cell.
    - ``adjectives``: which sentiment adjectives may occur. ``"all"`` (the default) draws from
      :data:`POSITIVE` / :data:`NEGATIVE`; ``"seen"`` only from :data:`SEEN_POSITIVE` /
      :data:`SEEN_NEGATIVE`; ``"heldout"`` only from :data:`HELDOUT_POSITIVE` /
      :data:`HELDOUT_NEGATIVE` (chapter 5's held-out-word split). The frames are the same in all
      three; only the adjectives change.

    Different seeds give independent samples; use one seed per split (train / valid / test).
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    kinds = tuple(kinds)
    if not kinds or any(k not in KINDS for k in kinds):
        raise ValueError(f"kinds must be a non-empty subset of {KINDS}, got {kinds}")
    if weights is None:
        weights = (0.5, 0.25, 0.25) if kinds == KINDS else (1.0,) * len(kinds)
    if len(weights) != len(kinds) or min(weights) < 0 or sum(weights) <= 0:
        raise ValueError(f"weights must be {len(kinds)} non-negative numbers, got {tuple(weights)}")
    if not 0.0 <= missing <= 1.0 or not 0.0 <= tail <= 1.0:
        raise ValueError("missing and tail are probabilities in [0, 1]")
    if adjectives not in ADJECTIVE_SETS:
        raise ValueError(f"adjectives must be one of {sorted(ADJECTIVE_SETS)}, got {adjectives!r}")
    pools = ADJECTIVE_SETS[adjectives]
    rng = random.Random(seed)
    reviews = []
    for _ in range(n):
        kind = rng.choices(kinds, weights=weights)[0]
        label = rng.randint(0, 1)
        text = _review(rng, kind, label, tail, pools)
        if rng.random() < missing:
            text = float("nan")
        reviews.append(Review(text=text, label=label, kind=kind))
    return reviews


# Unlabelled reviews (chapter 5): every text repeats one polarity, so sentiment words of the same
# polarity share their contexts, and the verdicts below are context words of one polarity too.
_VERDICTS = {
    True: ("i loved it", "highly recommended", "a must see", "we left smiling",
           "worth every minute", "i would watch it again", "pure joy", "my favourite this year"),
    False: ("i hated it", "avoid it", "a waste of time", "we left early", "a waste of money",
            "i want my money back", "i fell asleep", "my least favourite this year"),
}
_UNLABELLED_TEMPLATES = (
    "{an1} , {x2} {f} ; {v}",
    "the {a} was {x1} and the {b} was {x2} . {v}",
    "{x1} {a} , {x2} {b} and {an3} {c} . {v}",
    "{v} : {x1} , {x2} and {x3}",
    "what {an1} {f} ! so {x2} . {v}",
    "{x1} , {x2} , {x3} . {v}",
)


def _with_article(phrase: str) -> str:
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase


def make_unlabelled_reviews(n: int, seed: int = 0) -> list[str]:
    """``n`` **synthetic**, unlabelled review texts, reproducible from ``seed`` (chapter 5).

    Each text is all positive or all negative (half each, in expectation) and contains two or
    three *different* sentiment adjectives of that polarity, drawn from all of :data:`POSITIVE`
    or :data:`NEGATIVE` (so words of the seen and held-out halves occur side by side), plus a
    verdict of the same polarity, e.g. ``"a superb , moving film ; i loved it"``. There are no
    negations and no contrasts.

    This polarity-consistent co-occurrence is what real review text has and general text of a
    few hundred thousand words lacks; it is the mechanism that lets embeddings trained on
    unlabelled text place "wonderful" near "superb" and far from "dull". No label is returned:
    a model trained on these texts only sees which words occur together.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        positive = rng.random() < 0.5
        words = rng.sample(POSITIVE if positive else NEGATIVE, 3)
        x = [_squash(f"{rng.choice(INTENSIFIERS)} {w}") for w in words]
        a, b, c = rng.sample(ASPECTS, 3)
        template = rng.choice(_UNLABELLED_TEMPLATES)
        text = template.format(
            x1=x[0], x2=x[1], x3=x[2], an1=_with_article(x[0]), an3=_with_article(f"{x[2]} {c}"),
            a=a, b=b, c=c, f=rng.choice(FILMS), v=rng.choice(_VERDICTS[positive]))
        texts.append(_squash(text))
    return texts
