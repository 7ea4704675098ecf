// The collections, shared by the sidebar and the pages: loaded once after
// sign-in and reloaded after a change; `saved(c)` puts a collection the
// server has just answered with in place first.
import { createContext, useContext } from './lib.js';

export const Collections = createContext({ list: [], reload() {}, saved() {} });
export const useCollections = () => useContext(Collections);
