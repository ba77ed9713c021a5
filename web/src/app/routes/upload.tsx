import { useCallback, useState } from 'react';
import { PageHeading } from '@/components/page-heading';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { UploadForm } from '@/features/upload';
import { ProcessingStatus } from '@/features/videos';

export function UploadRoute() {
  const [videoId, setVideoId] = useState<string | null>(null);
  const onUploaded = useCallback((id: string) => setVideoId(id), []);
  const onReset = useCallback(() => setVideoId(null), []);
  return (
    <div className="mx-auto max-w-2xl">
      <PageHeading subtitle="Upload once, stream everywhere at the right quality.">Upload</PageHeading>
      <div className="space-y-6">
        <UploadForm onUploaded={onUploaded} onReset={onReset} />
        {videoId && (
          <Card>
            <CardHeader>
              <CardTitle>Processing</CardTitle>
            </CardHeader>
            <CardContent>
              <ProcessingStatus videoId={videoId} />
            </CardContent>
          </Card>
        )}
      </div>
    </div>
  );
}
