// The shape of a mesh warning: valid config that will not do what it seems to. Pure.
export interface MeshWarning {
  /** Field path from the object root, e.g. `spec.rules[0]`. */
  path: string;
  message: string;
}
