// Kind handles the controllers and agents use (defined in model/core, shared with the mesh control plane).
export { K } from '../../model/core/kind-handles.js';
