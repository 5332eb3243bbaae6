//! Draws a gateway's QR code PNG in a terminal with half-block characters (two modules per
//! character cell), light modules as blocks, so it scans on a dark terminal like `qrencode -t
//! utf8` output does.
//!
//! The gateways hand out only the image (neither tells the QR text), so the modules are read
//! back from the pixels: dark and light by luminance, the module size the shortest run of one
//! colour inside the code's bounding box (a QR code is drawn at a whole number of pixels per
//! module), each module sampled at its centre.

/// Why an image could not be drawn.
#[derive(Debug)]
pub(crate) enum QrImageError {
    /// Not a PNG the decoder reads.
    Decode(png::DecodingError),
    /// A PNG without a dark pixel, or of a pixel format we do not read.
    NotAQrCode(&'static str),
}

impl std::fmt::Display for QrImageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Decode(e) => write!(f, "the QR image is not a readable PNG: {e}"),
            Self::NotAQrCode(why) => write!(f, "the QR image holds no QR code: {why}"),
        }
    }
}

impl std::error::Error for QrImageError {}

/// Light modules of quiet zone drawn around the code.
const QUIET: usize = 2;

/// The PNG as rows of dark (`true`) and light pixels.
fn pixels(png_bytes: &[u8]) -> Result<Vec<Vec<bool>>, QrImageError> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    // Palette and low bit depths become 8-bit grey, RGB or RGBA.
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(QrImageError::Decode)?;
    let mut buf = vec![0; reader.output_buffer_size().unwrap_or(0)];
    let frame = reader.next_frame(&mut buf).map_err(QrImageError::Decode)?;
    let channels = match frame.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => return Err(QrImageError::NotAQrCode("an unexpanded palette")),
    };
    let width = usize::try_from(frame.width).unwrap_or(0);
    let rows = buf
        .get(..frame.buffer_size())
        .unwrap_or_default()
        .chunks(frame.line_size.max(1))
        .map(|line| {
            line.chunks(channels)
                .take(width)
                .map(|px| {
                    let luma = match px {
                        [g] | [g, _] => u32::from(*g),
                        [r, g, b] | [r, g, b, _] => {
                            (u32::from(*r) * 299 + u32::from(*g) * 587 + u32::from(*b) * 114) / 1000
                        }
                        _ => 255,
                    };
                    // Transparent pixels are the (light) background.
                    let opaque = match px {
                        [_, a] | [_, _, _, a] => *a >= 128,
                        _ => true,
                    };
                    opaque && luma < 128
                })
                .collect()
        })
        .collect();
    Ok(rows)
}

/// The QR code's modules (dark = `true`), read from the PNG.
pub(crate) fn modules(png_bytes: &[u8]) -> Result<Vec<Vec<bool>>, QrImageError> {
    let px = pixels(png_bytes)?;
    let dark_at = |x: usize, y: usize| px.get(y).and_then(|r| r.get(x)).copied().unwrap_or(false);
    let mut bounds: Option<(usize, usize, usize, usize)> = None;
    for (y, row) in px.iter().enumerate() {
        for (x, &d) in row.iter().enumerate() {
            if d {
                let b = bounds.get_or_insert((x, y, x, y));
                *b = (b.0.min(x), b.1.min(y), b.2.max(x), b.3.max(y));
            }
        }
    }
    let (left, top, right, bottom) = bounds.ok_or(QrImageError::NotAQrCode("no dark pixel"))?;
    // The shortest run of one colour, along rows and columns inside the bounds.
    let mut module = usize::MAX;
    let mut runs = |cells: &mut dyn Iterator<Item = bool>| {
        let mut last = None;
        let mut run = 0;
        for c in cells {
            if Some(c) == last {
                run += 1;
            } else {
                if last.is_some() {
                    module = module.min(run);
                }
                last = Some(c);
                run = 1;
            }
        }
        if last.is_some() {
            module = module.min(run);
        }
    };
    for y in top..=bottom {
        runs(&mut (left..=right).map(|x| dark_at(x, y)));
    }
    for x in left..=right {
        runs(&mut (top..=bottom).map(|y| dark_at(x, y)));
    }
    let module = module.max(1);
    let across = (right - left + 1).div_ceil(module);
    let down = (bottom - top + 1).div_ceil(module);
    Ok((0..down)
        .map(|my| {
            (0..across)
                .map(|mx| {
                    dark_at(
                        left + mx * module + module / 2,
                        top + my * module + module / 2,
                    )
                })
                .collect()
        })
        .collect())
}

/// The QR code drawn with half blocks, light modules lit, a quiet zone around it; one line
/// per two module rows.
pub(crate) fn draw(png_bytes: &[u8]) -> Result<String, QrImageError> {
    let modules = modules(png_bytes)?;
    let width = modules.first().map_or(0, Vec::len) + 2 * QUIET;
    let height = modules.len() + 2 * QUIET;
    let light = |x: usize, y: usize| {
        x < QUIET
            || y < QUIET
            || !modules
                .get(y - QUIET)
                .and_then(|r| r.get(x.wrapping_sub(QUIET)))
                .copied()
                .unwrap_or(false)
    };
    let mut out = String::new();
    for y in (0..height).step_by(2) {
        for x in 0..width {
            let upper = light(x, y);
            let lower = y + 1 >= height || light(x, y + 1);
            out.push(match (upper, lower) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PNG of `matrix` at `scale` pixels per module with a `border` of light modules.
    fn encode(matrix: &[&str], scale: usize, border: usize, color: png::ColorType) -> Vec<u8> {
        let side = (matrix.len() + 2 * border) * scale;
        let channels = match color {
            png::ColorType::Rgba => 4,
            _ => 1,
        };
        let mut data = Vec::new();
        for y in 0..side {
            for x in 0..side {
                let (mx, my) = (
                    (x / scale).checked_sub(border),
                    (y / scale).checked_sub(border),
                );
                let dark = match (mx, my) {
                    (Some(mx), Some(my)) => matrix
                        .get(my)
                        .and_then(|r| r.as_bytes().get(mx))
                        .is_some_and(|c| *c == b'#'),
                    _ => false,
                };
                let v = if dark { 0 } else { 255 };
                data.extend(std::iter::repeat_n(v, channels.min(3)));
                if channels == 4 {
                    data.push(255);
                }
            }
        }
        let mut out = Vec::new();
        let side = u32::try_from(side).unwrap();
        let mut encoder = png::Encoder::new(&mut out, side, side);
        encoder.set_color(color);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&data).unwrap();
        writer.finish().unwrap();
        out
    }

    const MATRIX: [&str; 5] = ["#.###", "##..#", ".#.#.", "#####", "#...#"];

    #[test]
    fn modules_are_read_back_at_any_scale_and_pixel_format() {
        let expected: Vec<Vec<bool>> = MATRIX
            .iter()
            .map(|r| r.bytes().map(|c| c == b'#').collect())
            .collect();
        for (scale, border, color) in [
            (1, 0, png::ColorType::Grayscale),
            (4, 4, png::ColorType::Grayscale),
            (7, 2, png::ColorType::Rgba),
        ] {
            let png = encode(&MATRIX, scale, border, color);
            assert_eq!(modules(&png).unwrap(), expected, "scale {scale}");
        }
    }

    #[test]
    fn the_drawing_lights_light_modules_two_rows_per_line() {
        let drawn = draw(&encode(&MATRIX, 3, 1, png::ColorType::Grayscale)).unwrap();
        let lines: Vec<&str> = drawn.lines().collect();
        // 5 modules + 2 × 2 quiet = 9 rows → 5 lines of 9 cells.
        assert_eq!(lines.len(), 5);
        assert!(lines.iter().all(|l| l.chars().count() == 9));
        assert_eq!(lines[0], "█████████");
        // Module rows 0 (#.###) over 1 (##..#), 2 (.#.#.) over 3 (#####), 4 (#...#) over
        // the quiet zone; two quiet columns each side.
        assert_eq!(lines[1], "██ ▀▄▄ ██");
        assert_eq!(lines[2], "██▀ ▀ ▀██");
        assert_eq!(lines[3], "██▄███▄██");
        assert_eq!(lines[4], "█████████");
    }

    #[test]
    fn images_without_a_code_are_refused() {
        assert!(matches!(draw(b"not a png"), Err(QrImageError::Decode(_))));
        let blank = encode(&["....."], 2, 0, png::ColorType::Grayscale);
        assert!(matches!(draw(&blank), Err(QrImageError::NotAQrCode(_))));
    }
}
