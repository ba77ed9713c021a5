import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { ErrorState } from '@/components/states';
import { StatusBadge } from '@/components/status-badge';
import { Button, buttonClasses } from '@/components/ui/button';
import { Card, CardContent } from '@/components/ui/card';
import { Spinner } from '@/components/ui/spinner';
import { VisibilityBadge } from '@/components/visibility';
import { useCurrentUser } from '@/features/auth';
import { VideoPlayer } from '@/features/player';
import {
  DeleteVideoDialog,
  EditVideoDialog,
  ProcessingStatus,
  StatusTimeline,
  useLiveVideo,
  VideoFacts,
} from '@/features/videos';
import { ApiError } from '@/lib/api-client';
import { canManageVideo } from '@/lib/user';

export function WatchRoute() {
  const { id } = useParams<{ id: string }>();
  const navigate = useNavigate();
  const { video } = useLiveVideo(id);
  const me = useCurrentUser();
  const [editing, setEditing] = useState(false);
  const [deleting, setDeleting] = useState(false);

  if (video.isPending) return <Spinner label="Loading the video" />;
  if (video.isError) {
    const gone = video.error instanceof ApiError && (video.error.status === 404 || video.error.status === 400);
    return (
      <div className="mx-auto max-w-xl space-y-4">
        <ErrorState
          error={video.error}
          title={gone ? 'Video not found' : 'Could not load the video'}
          onRetry={gone ? undefined : () => void video.refetch()}
        />
        <Link to="/videos" className={buttonClasses('outline', 'md')}>
          Back to the library
        </Link>
      </div>
    );
  }

  const v = video.data;
  // Until the session is known, show no controls rather than ones that may vanish.
  const canManage = !me.isPending && canManageVideo(me.data, v);
  return (
    <div className="grid gap-6 lg:grid-cols-[minmax(0,1fr)_320px]">
      <div className="min-w-0 space-y-4">
        {v.status === 'READY' ? (
          // Keyed by video: another video gets a fresh player, renewed URLs of this one do not.
          <VideoPlayer key={v.id} videoId={v.id} title={v.title} renditions={v.renditions} />
        ) : (
          <Card>
            <CardContent className="pt-4 sm:pt-6">
              <ProcessingStatus videoId={v.id} showWatchLink={false} />
            </CardContent>
          </Card>
        )}
        <div className="flex flex-wrap items-start justify-between gap-3">
          <h1
            tabIndex={-1}
            className="min-w-0 flex-1 break-words text-xl font-bold tracking-tight outline-none sm:text-2xl"
            data-testid="video-title"
          >
            {v.title}
          </h1>
          <div className="flex items-center gap-2">
            <VisibilityBadge visibility={v.visibility} />
            <StatusBadge status={v.status} progress={v.progress} />
            {canManage && (
              <>
                <Button variant="outline" size="sm" onClick={() => setEditing(true)} data-testid="edit-video">
                  Edit
                </Button>
                <Button variant="destructive" size="sm" onClick={() => setDeleting(true)} data-testid="delete-video">
                  Delete
                </Button>
              </>
            )}
          </div>
        </div>
        {v.description ? (
          <p className="whitespace-pre-line break-words text-sm" data-testid="video-description">
            {v.description}
          </p>
        ) : (
          <p className="text-sm text-muted-foreground">No description.</p>
        )}
      </div>
      <aside className="space-y-6">
        <Card>
          <CardContent className="pt-4 sm:pt-6">
            <VideoFacts video={v} />
          </CardContent>
        </Card>
        <Card>
          <CardContent className="pt-4 sm:pt-6">
            <StatusTimeline videoId={v.id} />
          </CardContent>
        </Card>
      </aside>
      {canManage && editing && <EditVideoDialog video={v} open={editing} onClose={() => setEditing(false)} />}
      {canManage && (
        <DeleteVideoDialog
          video={v}
          open={deleting}
          onClose={() => setDeleting(false)}
          onDeleted={() => navigate('/videos', { replace: true })}
        />
      )}
    </div>
  );
}
