// The player feature's public surface, for the app's routes.
export { VideoPlayer } from './components/video-player';
