// The view library, in one place: Preact with hooks and htm templates,
// vendored unmodified (see tests/browser/vendor.mjs). Our modules import
// from here, never from the vendor file directly.
export {
  html, render, h, createContext,
  useState, useEffect, useRef, useMemo, useCallback, useContext, useReducer, useLayoutEffect,
} from '../vendor/htm-preact-standalone.module.js';
