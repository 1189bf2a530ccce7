import { renderSVG } from 'uqr';
import { toBase64, utf8 } from './encoding.js';

/**
 * A QR code for an otpauth:// URI as an SVG data: URL, ready for an <img src>. uqr (unjs,
 * no dependencies, a port of Nayuki's reference encoder) draws SVG with plain string code,
 * so it runs on Workers too; node-qrcode's PNG path needs Node streams and Buffer.
 */
export function qrCodeDataUrl(text: string): string {
  const svg = renderSVG(text, { ecc: 'M', border: 2, pixelSize: 6 });
  return `data:image/svg+xml;base64,${toBase64(utf8(svg))}`;
}
