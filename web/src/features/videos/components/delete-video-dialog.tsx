import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { Dialog } from '@/components/ui/dialog';
import { errorMessage } from '@/lib/api-client';
import type { Video } from '@/lib/video';
import { useDeleteVideo } from '../api/delete-video';

export function DeleteVideoDialog({
  video,
  open,
  onClose,
  onDeleted,
}: {
  video: Video;
  open: boolean;
  onClose: () => void;
  onDeleted: () => void;
}) {
  const del = useDeleteVideo();
  const close = () => {
    del.reset();
    onClose();
  };
  return (
    <Dialog
      open={open}
      onClose={close}
      title="Delete this video?"
      description={`“${video.title}” and all of its streams will be removed for good.`}
    >
      {del.isError && (
        <Alert tone="error" className="mb-4">
          {errorMessage(del.error)}
        </Alert>
      )}
      <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
        <Button variant="outline" onClick={close}>
          Keep it
        </Button>
        <Button
          variant="destructive"
          disabled={del.isPending}
          onClick={() => del.mutate(video.id, { onSuccess: onDeleted })}
          data-testid="confirm-delete"
        >
          {del.isPending ? 'Deleting…' : 'Delete video'}
        </Button>
      </div>
    </Dialog>
  );
}
