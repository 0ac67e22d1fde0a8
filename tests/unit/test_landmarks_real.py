"""A real face: OpenCV's and dlib's detectors and dlib's iBUG 68-point model on a photograph
that a dependency ships (scikit-image's ``astronaut``, Eileen Collins, public domain)."""

from __future__ import annotations

import os

import cv2
import dlib
import numpy as np
import pytest
from skimage import data

from emorepro.errors import ConfigError
from emorepro.features.landmarks import (
    IBUG68_GROUPS,
    LandmarkModel,
    detect_face_box,
    detect_landmarks,
    ibug68_model_path,
    resolve_model_setting,
)


def _ibug68() -> LandmarkModel:
    try:
        path = ibug68_model_path()
    except ConfigError as err:  # the optional extra is not installed
        if os.environ.get("CI"):
            pytest.fail(str(err))
        pytest.skip(str(err))
    return LandmarkModel.load(path)


def test_one_face_is_found_by_both_detectors() -> None:
    image = data.astronaut()
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    haar = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    assert len(haar.detectMultiScale(gray, 1.1, 5)) == 1
    box = detect_face_box(image)
    assert box is not None
    x, y, w, h = box
    assert 120 <= x + w / 2 <= 260 and 40 <= y + h / 2 <= 160 and 70 <= w <= 160
    # dlib's HOG detector at the image's own scale (upsampled once it also reports the
    # mission patch on the suit, with a score of 0.12 against 1.16 for the face)
    hog = dlib.get_frontal_face_detector()(image, 0)
    assert len(hog) == 1
    r = hog[0]
    assert abs((r.left() + r.right()) / 2 - (x + w / 2)) < 0.3 * w  # the same face


def test_68_point_model_puts_eyes_above_nose_above_mouth() -> None:
    model = _ibug68()
    assert model.n_points == 68 and model.groups == IBUG68_GROUPS
    image = data.astronaut()
    pts = detect_landmarks(image, model)
    assert pts is not None and pts.shape == (68, 2)
    eyes = pts[36:48, 1].mean()
    nose_tip = pts[30, 1]
    mouth = pts[48:68, 1].mean()
    chin = pts[8, 1]
    assert eyes < nose_tip < mouth < chin
    left_eye, right_eye = pts[36:42].mean(axis=0), pts[42:48].mean(axis=0)
    face_width = pts[16, 0] - pts[0, 0]
    inter_ocular = float(np.linalg.norm(right_eye - left_eye))
    assert 0.3 < inter_ocular / face_width < 0.5, (inter_ocular, face_width)
    assert left_eye[0] < pts[30, 0] < right_eye[0]  # the nose between the eyes


def test_config_value_ibug68_names_the_packaged_file() -> None:
    path = resolve_model_setting("ibug68")
    assert path.endswith("shape_predictor_68_face_landmarks.dat")
    assert resolve_model_setting("/models/x.dat") == "/models/x.dat"
    assert resolve_model_setting(None) is None
