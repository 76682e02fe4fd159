// The controllers' work queue (defined in lib/, shared with the mesh control plane).
export { WorkQueue } from '../../lib/work-queue.js';
