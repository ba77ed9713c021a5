import { Link } from 'react-router-dom';
import { PageHeading } from '@/components/page-heading';
import { buttonClasses } from '@/components/ui/button';
import { VideoGrid } from '@/features/videos';

/** /mine — the signed-in user's own videos, private and unlisted ones included. */
export function MyVideosRoute() {
  return (
    <div>
      <div className="flex items-start justify-between gap-2">
        <PageHeading subtitle="Everything you uploaded, whoever can see it.">My videos</PageHeading>
        <Link to="/" className={buttonClasses('default', 'md', 'shrink-0')}>
          Upload
        </Link>
      </div>
      <VideoGrid filters={{ q: '', status: '', mine: true }} />
    </div>
  );
}
