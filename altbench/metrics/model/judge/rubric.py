"""The judge's rubric: versioned text, grounded in accessibility guidance for alt-text.

Sources the criteria paraphrase (no text is copied):

- WCAG 2.2, success criterion 1.1.1 *Non-text Content*: a text alternative serves the *equivalent purpose*
  of the image; images of text carry the same words.
- W3C WAI *Images Tutorial* and its *alt Decision Tree*: describe what the image conveys *in its context*;
  the same image needs different text in different places; do not start with "image of" or "picture of"
  (screen readers already announce an image); keep it short and put the essential information first.
- Common practice for social media and the web (e.g. screen readers that historically broke alt-text
  into 125-character chunks): about 125 characters is a soft target, longer only when the image carries
  essential content such as text or data.

Change any wording here -> bump :data:`RUBRIC_VERSION`. The signature also carries a hash of the rubric
and prompt text (:func:`altbench.metrics.model.judge.prompts.rubric_id`), so an edit without a bump still shows.
"""

from __future__ import annotations

from dataclasses import dataclass

RUBRIC_VERSION = "alttext-rubric/1"
SOFT_TARGET_CHARS = 125


@dataclass(frozen=True)
class Criterion:
    name: str
    question: str
    anchors: tuple[str, str, str]  # what a 5, a 3 and a 1 look like


CRITERIA: tuple[Criterion, ...] = (
    Criterion(
        "accuracy",
        "Is everything the alt-text states visible in the image? Nothing may be invented: no objects, people, "
        "actions, text, numbers or colours that the image does not show. Text in the image, when given, "
        "must be quoted correctly.",
        ("every statement is supported by the image",
         "mostly right, with one minor error or one detail the image does not support",
         "describes something that is not in the image, or gets the main content wrong")),
    Criterion(
        "relevance",
        "Does the alt-text give what a blind reader of THIS post needs: what the image adds to the post's "
        "text, in the post's context? It should not merely repeat the post's text, nor describe details "
        "that do not matter here.",
        ("conveys exactly what the image contributes to this post",
         "useful but partly generic, or misses part of what matters for this post",
         "unrelated to the post's purpose, or only repeats the post's text")),
    Criterion(
        "salience",
        "Does the most important content come first, with details in order of importance?",
        ("the essential content is said first",
         "the essential content is present but buried behind lesser details",
         "the essential content is missing")),
    Criterion(
        "conciseness",
        f"Is it short enough to listen to? About {SOFT_TARGET_CHARS} characters is a soft target: longer "
        "is fine only when the image carries essential content such as text or data. No filler words.",
        (f"as short as the content allows (usually at most about {SOFT_TARGET_CHARS} characters)",
         "somewhat wordy, or clearly longer than needed",
         "far too long or padded, or so short that it says nothing")),
    Criterion(
        "no_redundancy",
        "Is it free of redundant phrasing? Screen readers already announce an image, so openings such as "
        "\"image of\", \"picture of\" or \"photo of\" waste the listener's time (naming a type that "
        "matters, such as a chart, screenshot or painting, is fine); no labels like \"alt text:\", no "
        "repetition.",
        ("no redundant words",
         "one redundant phrase",
         "mostly redundant phrasing")),
)
CRITERION_NAMES: tuple[str, ...] = tuple(c.name for c in CRITERIA)

PURPOSE = (
    "Alt-text is the text a screen reader speaks for an image to a blind or low-vision person. On social "
    "media it must be concise and fit the post it belongs to: describe what the image contributes to the "
    "post, most important first.")


def rubric_text() -> str:
    """The rubric as the judge reads it."""
    lines = [PURPOSE, "", "Criteria, each scored from 1 (worst) to 5 (best):"]
    for i, c in enumerate(CRITERIA, 1):
        five, three, one = c.anchors
        lines.append(f"{i}. {c.name}: {c.question} 5 = {five}; 3 = {three}; 1 = {one}.")
    return "\n".join(lines)
