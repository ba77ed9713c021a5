// Recognises a video container from the first bytes of a file, so a file that
// is not a video is refused before anything is sent to the server.
//   MP4 / MOV   'ftyp' at offset 4 (brand 'qt  ' = QuickTime)
//   AVI         'RIFF' .... 'AVI '
//   WebM / MKV  EBML header 1A 45 DF A3 (DocType 'webm' = WebM)
//   Ogg         'OggS'

export type VideoFormat = 'mp4' | 'mov' | 'avi' | 'webm' | 'mkv' | 'ogg';

/** How many leading bytes detectVideoFormat looks at. */
export const HEADER_BYTES = 64;

const FORMAT_MIME: Record<VideoFormat, string> = {
  mp4: 'video/mp4',
  mov: 'video/quicktime',
  avi: 'video/x-msvideo',
  webm: 'video/webm',
  mkv: 'video/x-matroska',
  ogg: 'video/ogg',
};

export const FORMAT_NAMES: Record<VideoFormat, string> = {
  mp4: 'MP4',
  mov: 'QuickTime (MOV)',
  avi: 'AVI',
  webm: 'WebM',
  mkv: 'Matroska (MKV)',
  ogg: 'Ogg',
};

/** MIME types the server accepts as declared. */
export const ACCEPTED_MIME_TYPES = [
  'video/mp4',
  'video/quicktime',
  'video/x-msvideo',
  'video/avi',
  'video/msvideo',
  'video/webm',
  'video/ogg',
  'application/ogg',
  'video/x-matroska',
  'video/mkv',
];

export const ACCEPT_ATTRIBUTE = [...ACCEPTED_MIME_TYPES, '.mp4', '.m4v', '.mov', '.avi', '.webm', '.mkv', '.ogg', '.ogv'].join(',');

function ascii(bytes: Uint8Array, offset: number, length: number): string {
  if (bytes.length < offset + length) return '';
  return String.fromCharCode(...bytes.subarray(offset, offset + length));
}

function contains(bytes: Uint8Array, text: string): boolean {
  const needle = [...text].map((c) => c.charCodeAt(0));
  outer: for (let i = 0; i + needle.length <= bytes.length; i++) {
    for (let j = 0; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

export function detectVideoFormat(bytes: Uint8Array, fileName = ''): VideoFormat | null {
  if (ascii(bytes, 4, 4) === 'ftyp') return ascii(bytes, 8, 4) === 'qt  ' ? 'mov' : 'mp4';
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'AVI ') return 'avi';
  if (bytes.length >= 4 && bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3) {
    if (contains(bytes.subarray(0, HEADER_BYTES), 'webm')) return 'webm';
    if (contains(bytes.subarray(0, HEADER_BYTES), 'matroska')) return 'mkv';
    return fileName.toLowerCase().endsWith('.webm') ? 'webm' : 'mkv';
  }
  if (ascii(bytes, 0, 4) === 'OggS') return 'ogg';
  return null;
}

/** The Content-Type to declare: the browser's when the server accepts it, else the detected format's. */
export function mimeTypeFor(format: VideoFormat, declared: string): string {
  return ACCEPTED_MIME_TYPES.includes(declared.toLowerCase()) ? declared.toLowerCase() : FORMAT_MIME[format];
}

export type FileCheck =
  | { ok: true; format: VideoFormat; mimeType: string }
  | { ok: false; message: string };

async function readHeader(file: Blob): Promise<Uint8Array> {
  const slice = file.slice(0, HEADER_BYTES);
  if (typeof slice.arrayBuffer === 'function') return new Uint8Array(await slice.arrayBuffer());
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(new Uint8Array(reader.result as ArrayBuffer));
    reader.onerror = () => reject(reader.error);
    reader.readAsArrayBuffer(slice);
  });
}

/** Reads the file's first bytes and says whether it is a video we can send. */
export async function checkVideoFile(file: File): Promise<FileCheck> {
  if (file.size === 0) return { ok: false, message: `“${file.name}” is empty.` };
  let header: Uint8Array;
  try {
    header = await readHeader(file);
  } catch {
    return { ok: false, message: `“${file.name}” could not be read. Try choosing it again.` };
  }
  const format = detectVideoFormat(header, file.name);
  if (!format) {
    return {
      ok: false,
      message: `“${file.name}” is not a video file we can process. Choose an MP4, MOV, AVI, WebM, MKV or Ogg video.`,
    };
  }
  return { ok: true, format, mimeType: mimeTypeFor(format, file.type) };
}
