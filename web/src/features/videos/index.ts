// The videos feature's public surface, for the app's routes.
export { useVideo } from './api/get-video';
export { useLiveVideo } from './hooks/use-live-video';
export { useDebouncedValue } from './hooks/use-debounced-value';
export { ProcessingStatus } from './components/processing-status';
export { VideoGrid } from './components/video-grid';
export { StatsOverview } from './components/stats-overview';
export { LibraryToolbar } from './components/library-toolbar';
export { VideoFacts } from './components/video-facts';
export { StatusTimeline } from './components/status-timeline';
export { EditVideoDialog } from './components/edit-video-dialog';
export { DeleteVideoDialog } from './components/delete-video-dialog';
