"""What the face-attribute analyses report: methods, the models they use, and each group's labels in order.

The label tuples fix both the names and the order of every probability dict (the order the seed's sample response
uses); protocols map them to their own keys.
"""

from __future__ import annotations

METHOD_HEURISTIC = "geometry+pixel-heuristics"
METHOD_CLIP = "clip-vit-b32"
CLIP_MODEL = "clip-vit-b32"
FACE_MODEL = "dlib-face"
MESH_MODEL = "mediapipe-face-landmark"
SEG_MODEL = "mediapipe-selfie-segmentation"
AGE_MODEL = "age-gender"

FACE_SHAPES = ("Triangle", "Round", "Heart", "Square", "Oval", "Diamond", "Oblong")
HAIR_COLORS = (
    "Other",
    "Coffee brown",
    "Silver gray",
    "Chestnut",
    "Brown",
    "Gradient",
    "Wine red",
    "Golden",
    "Yellow",
    "Black",
)
BANGS_TYPES = (
    "Center parted bangs",
    "Braided bangs",
    "Side-swept bangs",
    "No bangs",
    "Wispy bangs",
    "Blunt bangs",
)
CURLY_TYPES = ("Cloud curls", "Loose waves", "Soft waves", "Bouncy curls", "Airy curls", "Tight curls", "Egg rolls")
HAIR_TYPES = ("Curly", "Updo", "Straight")
HAIR_LENGTHS = ("Medium", "Short", "Long")
MALE_STYLES = (
    "Side part",
    "Buzz cut",
    "Crew cut",
    "Flat top",
    "Induction cut",
    "Textured crop",
    "Tousled",
    "Slicked back",
    "Mohawk",
)
AGE_RANGES = ("0-2", "3-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70+")
