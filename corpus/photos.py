"""Real photographs that ship inside scikit-image, scikit-learn and matplotlib.

A small out-of-domain set (photos, not emoji drawings) for demos, smoke tests and the VQA
evaluation; never used for training. Captions are ours, and translated only into languages
where we are sure of simple noun phrases.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

import numpy as np
from PIL import Image

PHOTO_LANGUAGES = ("en", "es", "fr", "de", "it", "pt", "ru", "zh", "ja")


def _skimage(name: str, index: int | None = None) -> Callable[[], Image.Image]:
    def load() -> Image.Image:
        import skimage.data

        arr = getattr(skimage.data, name)()
        if index is not None:
            arr = arr[index]
        return Image.fromarray(np.asarray(arr, dtype=np.uint8) if arr.dtype != bool else (arr * 255).astype(np.uint8))

    return load


def _sklearn(filename: str) -> Callable[[], Image.Image]:
    def load() -> Image.Image:
        import sklearn.datasets

        path = os.path.join(os.path.dirname(sklearn.datasets.__file__), "images", filename)
        return Image.open(path)

    return load


def _matplotlib(filename: str) -> Callable[[], Image.Image]:
    def load() -> Image.Image:
        import matplotlib

        return Image.open(os.path.join(matplotlib.get_data_path(), "sample_data", filename))

    return load


def _gradio(relpath: str) -> Callable[[], Image.Image]:
    def load() -> Image.Image:
        import gradio

        return Image.open(os.path.join(os.path.dirname(gradio.__file__), relpath))

    return load


@dataclass(frozen=True)
class Photo:
    name: str
    load: Callable[[], Image.Image]
    captions: tuple[str, ...]  # in PHOTO_LANGUAGES order
    origin: str
    concept: str = ""  # photos of one thing share a concept (default: the name)

    @property
    def concept_name(self) -> str:
        return self.concept or self.name


PHOTOS: tuple[Photo, ...] = (
    Photo("cat", _skimage("chelsea"), ("a cat", "un gato", "un chat", "eine Katze", "un gatto", "um gato", "кошка", "猫", "猫"), "scikit-image chelsea (public domain)"),
    Photo("coffee", _skimage("coffee"), ("a cup of coffee", "una taza de café", "une tasse de café", "eine Tasse Kaffee", "una tazza di caffè", "uma xícara de café", "чашка кофе", "一杯咖啡", "一杯のコーヒー"), "scikit-image coffee (CC0, Rachel Michetti)"),
    Photo("rocket", _skimage("rocket"), ("a rocket", "un cohete", "une fusée", "eine Rakete", "un razzo", "um foguete", "ракета", "火箭", "ロケット"), "scikit-image rocket (public domain, NASA)"),
    Photo("astronaut", _skimage("astronaut"), ("an astronaut", "una astronauta", "une astronaute", "eine Astronautin", "un'astronauta", "uma astronauta", "астронавт", "宇航员", "宇宙飛行士"), "scikit-image astronaut (public domain, NASA)"),
    Photo("horse", _skimage("horse"), ("a horse", "un caballo", "un cheval", "ein Pferd", "un cavallo", "um cavalo", "лошадь", "马", "馬"), "scikit-image horse (public domain)"),
    Photo("motorcycle", _skimage("stereo_motorcycle", 0), ("a motorcycle", "una motocicleta", "une moto", "ein Motorrad", "una moto", "uma motocicleta", "мотоцикл", "摩托车", "オートバイ"), "scikit-image stereo_motorcycle (Middlebury, free for research)"),
    Photo("photographer", _skimage("camera"), ("a photographer with a camera", "un fotógrafo con una cámara", "un photographe avec un appareil photo", "ein Fotograf mit einer Kamera", "un fotografo con una macchina fotografica", "um fotógrafo com uma câmera", "фотограф с фотоаппаратом", "拿着相机的摄影师", "カメラを持った写真家"), "scikit-image camera (public domain)"),
    Photo("coins", _skimage("coins"), ("coins", "monedas", "des pièces de monnaie", "Münzen", "monete", "moedas", "монеты", "硬币", "硬貨"), "scikit-image coins (public domain, Walters Art Museum)"),
    Photo("moon", _skimage("moon"), ("the surface of the moon", "la superficie de la luna", "la surface de la lune", "die Oberfläche des Mondes", "la superficie della luna", "a superfície da lua", "поверхность луны", "月球表面", "月の表面"), "scikit-image moon (public domain)"),
    Photo("galaxies", _skimage("hubble_deep_field"), ("galaxies in space", "galaxias en el espacio", "des galaxies dans l'espace", "Galaxien im Weltraum", "galassie nello spazio", "galáxias no espaço", "галактики в космосе", "太空中的星系", "宇宙の銀河"), "scikit-image hubble_deep_field (public domain, NASA)"),
    Photo("clock", _skimage("clock"), ("a clock", "un reloj", "une horloge", "eine Uhr", "un orologio", "um relógio", "часы", "时钟", "時計"), "scikit-image clock (public domain)"),
    Photo("brick-wall", _skimage("brick"), ("a brick wall", "una pared de ladrillos", "un mur de briques", "eine Ziegelmauer", "un muro di mattoni", "uma parede de tijolos", "кирпичная стена", "砖墙", "レンガの壁"), "scikit-image brick (CC0)"),
    Photo("grass", _skimage("grass"), ("grass", "hierba", "de l'herbe", "Gras", "erba", "grama", "трава", "草", "草"), "scikit-image grass (CC0)"),
    Photo("flower", _sklearn("flower.jpg"), ("a flower", "una flor", "une fleur", "eine Blume", "un fiore", "uma flor", "цветок", "花", "花"), "scikit-learn flower.jpg (CC BY 2.0)"),
    Photo("temple", _sklearn("china.jpg"), ("a temple", "un templo", "un temple", "ein Tempel", "un tempio", "um templo", "храм", "寺庙", "寺院"), "scikit-learn china.jpg (CC BY 2.0)"),
    Photo("woman-in-uniform", _matplotlib("grace_hopper.jpg"), ("a woman in uniform", "una mujer con uniforme", "une femme en uniforme", "eine Frau in Uniform", "una donna in uniforme", "uma mulher de uniforme", "женщина в форме", "穿制服的女人", "制服を着た女性"), "matplotlib grace_hopper.jpg (public domain, US Navy)"),
)

_CHEETAH = ("a cheetah", "un guepardo", "un guépard", "ein Gepard", "un ghepardo", "um guepardo", "гепард", "猎豹", "チーター")
# Validation photos for the photo-aware teacher's gate (`training.photo_gate`): real photos that
# ship in gradio's wheel, kept apart from PHOTOS (the out-of-domain test set) so the gate is
# never chosen on the photos it is scored on. Not in the corpus.
GATE_PHOTOS: tuple[Photo, ...] = (
    Photo("cheetah-running", _gradio("media_assets/images/cheetah.jpg"), _CHEETAH, "gradio media_assets/images/cheetah.jpg", "cheetah"),
    Photo("cheetah-face", _gradio("media_assets/images/cheetah1.jpg"), _CHEETAH, "gradio media_assets/images/cheetah1.jpg", "cheetah"),
    Photo("cheetah-cub", _gradio("test_data/cheetah2.jpg"), _CHEETAH, "gradio test_data/cheetah2.jpg", "cheetah"),
    Photo("lion", _gradio("media_assets/images/lion.jpg"), ("a lion", "un león", "un lion", "ein Löwe", "un leone", "um leão", "лев", "狮子", "ライオン"), "gradio media_assets/images/lion.jpg"),
    Photo("eiffel-tower", _gradio("media_assets/images/tower.jpg"), ("the Eiffel Tower", "la torre Eiffel", "la tour Eiffel", "der Eiffelturm", "la torre Eiffel", "a Torre Eiffel", "Эйфелева башня", "埃菲尔铁塔", "エッフェル塔"), "gradio media_assets/images/tower.jpg"),
)
