// The upload feature's public surface, for the app's routes.
export { UploadForm } from './components/upload-form';
