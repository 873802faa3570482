import { PNG } from 'pngjs';
import UTIF from 'utif2';

// A fax page is about 4 megapixels (A4 at 200 dpi); a "TIFF" claiming far more would take gigabytes to draw.
const MAX_PIXELS = 40_000_000;

/**
 * A PNG of the first page of a TIFF (how fax servers deliver faxes), because browsers do not
 * show TIFF. Pure JavaScript (utif2, pngjs), about half a second for a fax page: it runs on the
 * mail thread. Returns null for anything it cannot decode, or too large to draw.
 */
export function tiffToPng(tiff: Buffer): Buffer | null {
  try {
    const ifds = UTIF.decode(tiff);
    const page = ifds[0];
    if (!page) return null;
    const [declaredWidth, declaredHeight] = [Number((page.t256 as number[] | undefined)?.[0]), Number((page.t257 as number[] | undefined)?.[0])];
    if (!(declaredWidth * declaredHeight <= MAX_PIXELS)) return null;
    UTIF.decodeImage(tiff, page);
    const rgba = UTIF.toRGBA8(page);
    const width = Number(page.width);
    const height = Number(page.height);
    if (!width || !height || rgba.length !== width * height * 4) return null;
    const png = new PNG({ width, height });
    Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength).copy(png.data);
    return PNG.sync.write(png);
  } catch {
    return null;
  }
}
