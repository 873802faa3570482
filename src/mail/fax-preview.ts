import { PNG } from 'pngjs';
import UTIF from 'utif2';

/**
 * A PNG of the first page of a TIFF (how fax servers deliver faxes), because browsers do not
 * show TIFF. Pure JavaScript (utif2, pngjs). Returns null for anything it cannot decode.
 */
export function tiffToPng(tiff: Buffer): Buffer | null {
  try {
    const ifds = UTIF.decode(tiff);
    const page = ifds[0];
    if (!page) return null;
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
