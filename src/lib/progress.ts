/** Progress as one number and one line of text: the same wording as the app's status line. */
export { describeProgress, progressFraction } from '../shared/progress-text.js';
