import { useEffect, useState, type FormEvent } from 'react';
import { z } from 'zod';
import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card';
import { Field, Input, Textarea } from '@/components/ui/input';
import { VisibilityField } from '@/components/visibility';
import { formatBytes } from '@/lib/format';
import { visibilitySchema, type Visibility } from '@/lib/video';
import { useUpload } from '../hooks/use-upload';
import { checkVideoFile, FORMAT_NAMES, type VideoFormat } from '../lib/magic-bytes';
import { UploadProgress } from './upload-progress';
import { DropZone } from './drop-zone';

const detailsSchema = z.object({
  title: z.string().trim().max(200, 'Keep the title under 200 characters.'),
  description: z.string().trim().max(5000, 'Keep the description under 5000 characters.'),
  visibility: visibilitySchema,
});

const titleFromFileName = (name: string) => name.replace(/\.[^.]+$/, '').replace(/[_-]+/g, ' ').trim().slice(0, 200);

/**
 * Pick (or drop) a video, name it, upload it. The file is checked as soon as
 * it is picked; nothing is sent for a file that is not a video.
 */
export function UploadForm({ onUploaded, onReset }: { onUploaded: (videoId: string) => void; onReset?: () => void }) {
  const { state, start, cancel, reset } = useUpload();
  const [file, setFile] = useState<{ file: File; format: VideoFormat } | null>(null);
  const [fileError, setFileError] = useState<string | null>(null);
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [visibility, setVisibility] = useState<Visibility>('public');
  const [errors, setErrors] = useState<{ title?: string; description?: string }>({});

  const busy = state.phase === 'preparing' || state.phase === 'uploading' || state.phase === 'confirming';
  const done = state.phase === 'done';

  useEffect(() => {
    if (done && state.videoId) onUploaded(state.videoId);
  }, [done, state.videoId, onUploaded]);

  const pick = async (f: File) => {
    reset();
    setFile(null);
    setFileError(null);
    const check = await checkVideoFile(f);
    if (!check.ok) {
      setFileError(check.message);
      return;
    }
    setFile({ file: f, format: check.format });
    setTitle((t) => t || titleFromFileName(f.name));
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!file) {
      setFileError('Choose a video file first.');
      return;
    }
    const parsed = detailsSchema.safeParse({ title, description, visibility });
    if (!parsed.success) {
      const f = parsed.error.flatten().fieldErrors;
      setErrors({ title: f.title?.[0], description: f.description?.[0] });
      return;
    }
    setErrors({});
    void start(file.file, parsed.data);
  };

  const again = () => {
    reset();
    setFile(null);
    setTitle('');
    setDescription('');
    setVisibility('public');
    setFileError(null);
    onReset?.();
  };

  return (
    <Card>
      <CardHeader>
        <CardTitle>Upload a video</CardTitle>
        <CardDescription>It is converted into adaptive streams (1080p down to 360p) as soon as it arrives.</CardDescription>
      </CardHeader>
      <CardContent>
        <form onSubmit={submit} className="space-y-5" noValidate aria-label="Upload a video">
          {!busy && !done && <DropZone onFile={(f) => void pick(f)} describedBy={fileError ? 'file-error' : undefined} />}

          {fileError && (
            <Alert tone="error" title="This file can’t be uploaded" data-testid="file-error">
              <span id="file-error">{fileError}</span>
            </Alert>
          )}

          {file && (
            <p className="truncate text-sm" data-testid="selected-file">
              <span className="font-medium">{file.file.name}</span>{' '}
              <span className="text-muted-foreground">
                ({FORMAT_NAMES[file.format]}, {formatBytes(file.file.size)})
              </span>
            </p>
          )}

          {!done && (
            <>
              <Field id="upload-title" label="Title" error={errors.title}>
                {(control) => (
                  <Input
                    {...control}
                    value={title}
                    maxLength={200}
                    placeholder="Defaults to the file name"
                    onChange={(e) => setTitle(e.target.value)}
                    disabled={busy}
                    data-testid="upload-title"
                  />
                )}
              </Field>
              <Field id="upload-description" label="Description (optional)" error={errors.description}>
                {(control) => (
                  <Textarea
                    {...control}
                    value={description}
                    maxLength={5000}
                    rows={3}
                    onChange={(e) => setDescription(e.target.value)}
                    disabled={busy}
                    data-testid="upload-description"
                  />
                )}
              </Field>
              <VisibilityField name="upload" value={visibility} onChange={setVisibility} disabled={busy} />
            </>
          )}

          {state.phase !== 'idle' && state.phase !== 'error' && <UploadProgress state={state} />}

          {state.phase === 'error' && (
            <Alert tone="error" title="The upload failed" data-testid="upload-error">
              {state.error}
            </Alert>
          )}

          <div className="flex flex-col gap-2 sm:flex-row">
            {!busy && !done && (
              <Button type="submit" disabled={!file} data-testid="upload-submit">
                {state.phase === 'error' || state.phase === 'cancelled' ? 'Try again' : 'Upload'}
              </Button>
            )}
            {(state.phase === 'preparing' || state.phase === 'uploading') && (
              <Button variant="outline" onClick={cancel} data-testid="upload-cancel">
                Cancel upload
              </Button>
            )}
            {done && (
              <Button variant="outline" onClick={again} data-testid="upload-another">
                Upload another video
              </Button>
            )}
          </div>
        </form>
      </CardContent>
    </Card>
  );
}
