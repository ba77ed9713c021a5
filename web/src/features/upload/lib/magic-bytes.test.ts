import { describe, expect, it } from 'vitest';
import { checkVideoFile, detectVideoFormat, mimeTypeFor } from './magic-bytes';

const bytes = (...parts: Array<string | number[]>) => {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'string') for (const c of p) out.push(c.charCodeAt(0));
    else out.push(...p);
  }
  return new Uint8Array(out);
};

const mp4 = bytes([0, 0, 0, 0x20], 'ftypisom', [0, 0, 2, 0], 'isomiso2avc1mp41');
const mov = bytes([0, 0, 0, 0x14], 'ftypqt  ', [0, 0, 2, 0], 'qt  ');
const avi = bytes('RIFF', [0x24, 0x10, 0, 0], 'AVI LIST');
const wav = bytes('RIFF', [0x24, 0x10, 0, 0], 'WAVEfmt ');
const ebml = [0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84];
const webm = bytes(ebml, 'webm', [0x42, 0x87, 0x81, 0x04]);
const mkv = bytes(ebml.slice(0, -1), [0x88], 'matroska', [0x42, 0x87]);
const ogg = bytes('OggS', [0, 2, 0, 0, 0, 0, 0, 0, 0, 0]);

describe('detectVideoFormat', () => {
  it.each([
    ['MP4 (ftyp at offset 4)', mp4, 'mp4'],
    ['MOV (ftyp with the qt brand)', mov, 'mov'],
    ['AVI (RIFF....AVI )', avi, 'avi'],
    ['WebM (EBML, DocType webm)', webm, 'webm'],
    ['MKV (EBML, DocType matroska)', mkv, 'mkv'],
    ['Ogg (OggS)', ogg, 'ogg'],
  ])('recognises %s', (_name, header, format) => {
    expect(detectVideoFormat(header)).toBe(format);
  });

  it('tells WebM from MKV by extension when the DocType is past the header', () => {
    const bare = bytes(ebml);
    expect(detectVideoFormat(bare, 'clip.webm')).toBe('webm');
    expect(detectVideoFormat(bare, 'clip.mkv')).toBe('mkv');
  });

  it.each([
    ['plain text', bytes('Hello, I am not a video at all.')],
    ['a WAV file (RIFF but not AVI)', wav],
    ['a PNG image', bytes([0x89], 'PNG', [0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d])],
    ['ftyp at the wrong offset', bytes('ftypisom0000')],
    ['an empty header', new Uint8Array()],
    ['a truncated header', bytes([0, 0, 0])],
  ])('rejects %s', (_name, header) => {
    expect(detectVideoFormat(header)).toBeNull();
  });
});

describe('mimeTypeFor', () => {
  it('keeps a type the server accepts', () => {
    expect(mimeTypeFor('mov', 'video/quicktime')).toBe('video/quicktime');
    expect(mimeTypeFor('mkv', 'VIDEO/X-MATROSKA')).toBe('video/x-matroska');
  });
  it('derives the type from the content when the browser gives none or an unaccepted one', () => {
    expect(mimeTypeFor('mkv', '')).toBe('video/x-matroska');
    expect(mimeTypeFor('mp4', 'video/x-m4v')).toBe('video/mp4');
    expect(mimeTypeFor('avi', 'application/octet-stream')).toBe('video/x-msvideo');
  });
});

describe('checkVideoFile', () => {
  it('accepts a real MP4 header and names its type', async () => {
    const file = new File([mp4, new Uint8Array(1000)], 'holiday.mp4', { type: 'video/mp4' });
    await expect(checkVideoFile(file)).resolves.toEqual({ ok: true, format: 'mp4', mimeType: 'video/mp4' });
  });

  it('refuses a text file named .mp4 with a message a person understands', async () => {
    const file = new File(['just some notes, not a movie'], 'notes.mp4', { type: 'video/mp4' });
    const result = await checkVideoFile(file);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.message).toContain('notes.mp4');
      expect(result.message).toMatch(/not a video/i);
      expect(result.message).toMatch(/MP4, MOV, AVI, WebM, MKV or Ogg/);
    }
  });

  it('refuses an empty file', async () => {
    const result = await checkVideoFile(new File([], 'empty.mov'));
    expect(result).toEqual({ ok: false, message: '“empty.mov” is empty.' });
  });
});
