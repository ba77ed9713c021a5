import { useState, type FormEvent } from 'react';
import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { Dialog } from '@/components/ui/dialog';
import { Field, Input, Textarea } from '@/components/ui/input';
import { VisibilityField } from '@/components/visibility';
import { errorMessage } from '@/lib/api-client';
import type { Video, Visibility } from '@/lib/video';
import { useUpdateVideo, videoDetailsSchema } from '../api/update-video';

export function EditVideoDialog({ video, open, onClose }: { video: Video; open: boolean; onClose: () => void }) {
  const [title, setTitle] = useState(video.title);
  const [description, setDescription] = useState(video.description);
  const [visibility, setVisibility] = useState<Visibility>(video.visibility);
  const [errors, setErrors] = useState<{ title?: string; description?: string }>({});
  const update = useUpdateVideo(video.id);

  const close = () => {
    setTitle(video.title);
    setDescription(video.description);
    setVisibility(video.visibility);
    setErrors({});
    update.reset();
    onClose();
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const parsed = videoDetailsSchema.safeParse({ title, description, visibility });
    if (!parsed.success) {
      const f = parsed.error.flatten().fieldErrors;
      setErrors({ title: f.title?.[0], description: f.description?.[0] });
      return;
    }
    setErrors({});
    update.mutate(parsed.data, { onSuccess: () => onClose() });
  };

  return (
    <Dialog open={open} onClose={close} title="Edit video" description="Change how the video is named and described, and who can watch it.">
      <form onSubmit={submit} className="space-y-4" noValidate>
        <Field id="edit-title" label="Title" error={errors.title}>
          {(control) => (
            <Input
              {...control}
              value={title}
              maxLength={200}
              onChange={(e) => setTitle(e.target.value)}
              data-testid="edit-title"
            />
          )}
        </Field>
        <Field id="edit-description" label="Description" error={errors.description}>
          {(control) => (
            <Textarea
              {...control}
              value={description}
              maxLength={5000}
              rows={4}
              onChange={(e) => setDescription(e.target.value)}
              data-testid="edit-description"
            />
          )}
        </Field>
        <VisibilityField name="edit" value={visibility} onChange={setVisibility} />
        {update.isError && <Alert tone="error">{errorMessage(update.error)}</Alert>}
        <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
          <Button variant="outline" onClick={close}>
            Cancel
          </Button>
          <Button type="submit" disabled={update.isPending} data-testid="save-edit">
            {update.isPending ? 'Saving…' : 'Save'}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
