"""The sample quiz's pictures, drawn with Pillow: a clock face and four weather symbols.

Drawn rather than shipped as files, so the repository carries no binary assets and every
picture is exactly what its question says. Each function returns PNG bytes."""

import io
import math

from PIL import Image, ImageDraw

SIZE = 480
INK = (27, 29, 41)
PAPER = (255, 255, 255)
SKY = (18, 96, 196)
SUN = (242, 183, 5)
CLOUD = (120, 126, 143)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _canvas() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGB", (SIZE, SIZE), PAPER)
    return image, ImageDraw.Draw(image)


def clock(hours: int, minutes: int) -> bytes:
    """An analogue clock showing hours:minutes."""
    image, draw = _canvas()
    centre, radius = SIZE / 2, SIZE * 0.42
    draw.ellipse([centre - radius, centre - radius, centre + radius, centre + radius], outline=INK, width=12)
    for tick in range(12):
        angle = math.radians(tick * 30)
        outer, inner = radius - 14, radius - (48 if tick % 3 == 0 else 32)
        draw.line([centre + inner * math.sin(angle), centre - inner * math.cos(angle),
                   centre + outer * math.sin(angle), centre - outer * math.cos(angle)], fill=INK, width=8)

    def hand(turns: float, length: float, width: int) -> None:
        angle = 2 * math.pi * turns
        draw.line([centre, centre, centre + length * math.sin(angle), centre - length * math.cos(angle)],
                  fill=INK, width=width)

    hand(((hours % 12) + minutes / 60) / 12, radius * 0.5, 16)
    hand(minutes / 60, radius * 0.8, 10)
    draw.ellipse([centre - 14, centre - 14, centre + 14, centre + 14], fill=INK)
    return _png(image)


def _cloud(draw: ImageDraw.ImageDraw, y: float) -> None:
    for x, r in ((150, 70), (240, 95), (330, 70)):
        draw.ellipse([x - r, y - r, x + r, y + r], fill=CLOUD)
    draw.rectangle([150, y, 330, y + 70], fill=CLOUD)


def sunny() -> bytes:
    image, draw = _canvas()
    centre = SIZE / 2
    for ray in range(12):
        angle = math.radians(ray * 30)
        draw.line([centre + 120 * math.cos(angle), centre + 120 * math.sin(angle),
                   centre + 200 * math.cos(angle), centre + 200 * math.sin(angle)], fill=SUN, width=18)
    draw.ellipse([centre - 95, centre - 95, centre + 95, centre + 95], fill=SUN)
    return _png(image)


def cloudy() -> bytes:
    image, draw = _canvas()
    _cloud(draw, 230)
    return _png(image)


def pouring() -> bytes:
    """Heavy rain: a cloud and many long drops."""
    image, draw = _canvas()
    _cloud(draw, 170)
    for column in range(7):
        x = 120 + column * 40
        for row in range(2):
            y = 290 + row * 80 + (column % 2) * 30
            draw.line([x, y, x - 22, y + 60], fill=SKY, width=12)
    return _png(image)


def snowy() -> bytes:
    image, draw = _canvas()
    centre = SIZE / 2
    for arm in range(6):
        angle = math.radians(arm * 60)
        end = (centre + 170 * math.cos(angle), centre + 170 * math.sin(angle))
        draw.line([centre, centre, *end], fill=SKY, width=14)
        for side in (-1, 1):
            branch = angle + side * math.radians(40)
            mid = (centre + 100 * math.cos(angle), centre + 100 * math.sin(angle))
            draw.line([*mid, mid[0] + 55 * math.cos(branch), mid[1] + 55 * math.sin(branch)], fill=SKY, width=10)
    return _png(image)
