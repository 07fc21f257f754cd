/** Progress as one number and one line of text: the same wording as the app's status line. */
export { describeProgress, progressFraction } from '../app/progress-text.js';
