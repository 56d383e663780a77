#!/usr/bin/env python3
"""bmp_to_png.py: converts an uncompressed 24- or 32-bit BMP (as SDL_SaveBMP writes it)
to PNG, with nothing but the standard library (struct and zlib).

usage: bmp_to_png.py IN.bmp OUT.png
"""
import struct
import sys
import zlib


def read_bmp(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 54 or data[:2] != b"BM":
        raise ValueError(f"{path}: not a BMP file")
    pixel_offset = struct.unpack_from("<I", data, 10)[0]
    width, height = struct.unpack_from("<ii", data, 18)
    planes, bpp = struct.unpack_from("<HH", data, 26)
    compression = struct.unpack_from("<I", data, 30)[0]
    if planes != 1 or bpp not in (24, 32):
        raise ValueError(f"{path}: {bpp} bits per pixel is not supported")
    # BI_RGB (0), or BI_BITFIELDS (3) with the usual BGRA masks as SDL writes them.
    masks = (0x00FF0000, 0x0000FF00, 0x000000FF)
    if compression == 3:
        masks = struct.unpack_from("<III", data, 14 + 40)
    elif compression != 0:
        raise ValueError(f"{path}: compressed BMPs are not supported")
    bottom_up = height > 0
    height = abs(height)
    if width <= 0 or height == 0 or width * height > 64_000_000:
        raise ValueError(f"{path}: odd size {width}x{height}")
    stride = (width * bpp // 8 + 3) & ~3
    if pixel_offset + stride * height > len(data):
        raise ValueError(f"{path}: truncated")

    def shift_of(mask):
        s = 0
        while mask and not mask & 1:
            mask >>= 1
            s += 1
        return s

    shifts = [shift_of(m) for m in masks]
    rows = []
    for y in range(height):
        src_y = height - 1 - y if bottom_up else y
        start = pixel_offset + src_y * stride
        row = bytearray()
        if bpp == 24:
            line = data[start:start + width * 3]
            for x in range(0, len(line), 3):
                b, g, r = line[x], line[x + 1], line[x + 2]
                row += bytes((r, g, b))
        else:
            for (v,) in struct.iter_unpack("<I", data[start:start + width * 4]):
                row += bytes(((v & masks[0]) >> shifts[0], (v & masks[1]) >> shifts[1],
                              (v & masks[2]) >> shifts[2]))
        rows.append(bytes(row))
    return width, height, rows


def write_png(path, width, height, rows):
    def chunk(kind, body):
        c = struct.pack(">I", len(body)) + kind + body
        return c + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + r for r in rows)  # filter type 0 on every row
    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9))
    png += chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def main(argv):
    if len(argv) != 3 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) == 2 and argv[1] in ("-h", "--help") else 2
    try:
        w, h, rows = read_bmp(argv[1])
        write_png(argv[2], w, h, rows)
    except (OSError, ValueError) as e:
        print(f"bmp_to_png: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
