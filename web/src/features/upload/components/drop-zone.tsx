import { useId, useRef, useState, type DragEvent, type KeyboardEvent } from 'react';
import { cn } from '@/lib/utils';
import { ACCEPT_ATTRIBUTE } from '../lib/magic-bytes';

/**
 * Drag a file here, or click / press Enter or Space to pick one. The real
 * <input type="file"> sits beside the zone, visually hidden (not inside it:
 * no interactive element nested in another), for tests that set files on it.
 */
export function DropZone({ onFile, disabled, describedBy }: { onFile: (f: File) => void; disabled?: boolean; describedBy?: string }) {
  const input = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);
  const hintId = useId();

  const open = () => {
    if (!disabled) input.current?.click();
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    if (disabled) return;
    const f = e.dataTransfer.files?.[0];
    if (f) onFile(f);
  };
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      open();
    }
  };

  return (
    <div>
      <div
        role="button"
        tabIndex={disabled ? -1 : 0}
        aria-disabled={disabled}
        aria-describedby={[hintId, describedBy].filter(Boolean).join(' ')}
        onClick={open}
        onKeyDown={onKeyDown}
        onDragOver={(e) => {
          e.preventDefault();
          if (!disabled) setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={onDrop}
        data-testid="drop-zone"
        className={cn(
          'flex cursor-pointer flex-col items-center justify-center gap-2 rounded-lg border-2 border-dashed px-4 py-10 text-center transition-colors',
          'focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring focus-visible:ring-offset-2',
          over ? 'border-primary bg-primary/5' : 'border-input hover:border-primary/60 hover:bg-accent/40',
          disabled && 'cursor-not-allowed opacity-60',
        )}
      >
        <svg aria-hidden="true" viewBox="0 0 24 24" className="h-10 w-10 text-primary" fill="none" stroke="currentColor" strokeWidth="1.5">
          <path strokeLinecap="round" strokeLinejoin="round" d="M12 16V4m0 0l-4 4m4-4l4 4M4 16v2a2 2 0 002 2h12a2 2 0 002-2v-2" />
        </svg>
        <p className="font-medium">
          Drop a video here or <span className="text-primary underline">choose a file</span>
        </p>
        <p id={hintId} className="text-xs text-muted-foreground">
          MP4, MOV, AVI, WebM, MKV or Ogg
        </p>
      </div>
      <input
        ref={input}
        type="file"
        accept={ACCEPT_ATTRIBUTE}
        className="sr-only"
        tabIndex={-1}
        aria-label="Video file"
        data-testid="upload-input"
        disabled={disabled}
        onChange={(e) => {
          const f = e.target.files?.[0];
          if (f) onFile(f);
          e.target.value = '';
        }}
      />
    </div>
  );
}
